// Capacity against a local server speaking the OpenAI wire format: a 429 with Retry-After pauses
// the (provider, model, account) bucket for every caller, not only the one told; a pause longer
// than maxRetryAfterMs sends later callers of a route straight to the fallback; the state shows in
// `model.capacity` (no key in it) and the pauses and waits on the kernel's /metrics registry.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Kernel, type Principal } from '../src/kernel/index.ts';
import {
  ModelService,
  modelSyscalls,
  parseModelsConfig,
  registerCapacityMetrics,
  type CapacityEntry,
} from '../src/models/index.ts';
import { freshDatabase } from '../src/testkit/stores.ts';
import { startOpenAIWireServer, type WireServer } from './fixtures/model-wire-servers.ts';

const KEY = 'sk-capacity-secret-value-777';
let server: WireServer;
before(async () => {
  server = await startOpenAIWireServer();
});
after(() => server.close());

const provider = (name: string, maxRetryAfterMs = 30_000) => ({
  name,
  driver: 'openai-compatible',
  baseUrl: `${server.url}/v1`,
  apiKeySecret: 'llm-key',
  models: ['gpt-test'],
  retry: { attempts: 3, baseDelayMs: 10, maxRetryAfterMs },
  capacity: { requestsPerMinute: 600, tokensPerMinute: 1_000_000 },
});

const service = (providers: unknown[], routes = {}) =>
  new ModelService({
    config: parseModelsConfig({ providers, routes }),
    resolveSecret: () => Promise.resolve(KEY),
  });

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hello' }] });

/** Resolves on the next Retry-After pause the service reports. */
const nextPause = (svc: ModelService) =>
  new Promise<number>((resolve) => {
    const stop = svc.capacity.observe({ paused: (_key, ms) => (stop(), resolve(ms)) });
  });

describe('capacity with a provider that says wait', () => {
  it('a 429 with Retry-After holds back a second caller (another tenant) until then', async () => {
    const svc = service([provider('openai')]);
    const before = server.requests.length;
    server.queue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const paused = nextPause(svc);
    const first = svc.generate(ask('openai/gpt-test'), { tenantId: 'ten_a' });
    assert.equal(await paused, 1_000);
    const pausedAt = performance.now();
    const second = svc.generate(ask('openai/gpt-test'), { tenantId: 'ten_b' });
    await sleep(300);
    assert.equal(server.requests.length - before, 1, 'nobody reached the provider during the pause');
    const bucket = svc.capacity.snapshot().find((b) => b.provider === 'openai');
    assert.ok(bucket?.pausedUntil, 'the bucket shows its pause');
    assert.equal(bucket.queued, 2, 'the first caller’s retry and the second caller wait in the queue');
    const [a, b] = await Promise.all([first, second]);
    const waited = performance.now() - pausedAt;
    console.log(`second caller admitted after ${Math.round(waited)} ms of a 1000 ms Retry-After`);
    assert.ok(waited >= 900, `the second caller waited ${Math.round(waited)} ms`);
    assert.deepEqual(
      a.attempts.map((x) => x.outcome),
      ['E_RATE_LIMITED', 'ok'],
    );
    assert.deepEqual(
      b.attempts.map((x) => x.outcome),
      ['ok'],
    );
    assert.equal(server.requests.length - before, 3);
  });

  it('a pause longer than maxRetryAfterMs sends later callers of a route to the fallback at once', async () => {
    const svc = service([provider('openai', 500), provider('backup')], {
      smart: ['openai/gpt-test', 'backup/gpt-test'],
    });
    const before = server.requests.length;
    server.queue({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const a = await svc.generate(ask('smart'), { tenantId: 'ten_a' });
    const b = await svc.generate(ask('smart'), { tenantId: 'ten_b' });
    assert.equal(a.target, 'backup/gpt-test');
    assert.equal(b.target, 'backup/gpt-test');
    assert.deepEqual(b.attempts, [
      { target: 'openai/gpt-test', outcome: 'E_RATE_LIMITED' },
      { target: 'backup/gpt-test', outcome: 'ok' },
    ]);
    assert.equal(server.requests.length - before, 3, 'the paused provider saw one request only');
  });
});

describe('model.capacity and /metrics', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let kernel: Kernel;
  let principal: Principal;
  // 6 a minute refill 0.1 a second, so the requests used stay visible for the assertions.
  const svc = () =>
    service([{ ...provider('openai'), capacity: { requestsPerMinute: 6, tokensPerMinute: 1_000_000 } }]);
  let models: ModelService;

  before(async () => {
    db = await freshDatabase('sqlite');
    kernel = await Kernel.open({ store: await db.open(), masterKey: randomBytes(32) });
    models = svc();
    for (const d of modelSyscalls(models)) kernel.register(d);
    registerCapacityMetrics(kernel.metrics.registry, models.capacity);
    const tenant = await kernel.principals.createTenant('cap');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'k',
      grants: [{ syscall: '*', resource: '*' }],
    });
    principal = await kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await kernel.close();
    await db.drop();
  });

  it('reports per-bucket used/limit/queued/pausedUntil and the pauses and waits as metrics', async () => {
    const fresh = await kernel.call<{ buckets: CapacityEntry[] }>('model.capacity', {}, { principal });
    assert.deepEqual(fresh.buckets, [
      {
        provider: 'openai',
        model: 'gpt-test',
        account: 'none',
        requests: { used: 0, limit: 6 },
        tokens: { used: 0, limit: 1_000_000 },
        concurrency: { used: 0, limit: 16 },
        queued: 0,
        pausedUntil: null,
      },
    ]);
    server.queue({ kind: 'status', status: 429, headers: { 'retry-after-ms': '200' } });
    await kernel.call('model.generate', ask('openai/gpt-test'), { principal });
    const used = await kernel.call<{ buckets: CapacityEntry[] }>('model.capacity', {}, { principal });
    const [bucket] = used.buckets;
    assert.equal(used.buckets.length, 1);
    assert.match(bucket?.account ?? '', /^key:[0-9a-f]{12}$/);
    assert.equal(bucket?.requests.used, 2, 'the 429 and its retry each took a request');
    assert.equal(bucket?.concurrency.used, 0);
    assert.ok(!JSON.stringify(used).includes(KEY), 'the key never appears');
    const metrics = await kernel.metrics.registry.metrics();
    assert.match(metrics, /strata_model_retry_after_pauses_total\{provider="openai",model="gpt-test"\} 1/);
    assert.match(
      metrics,
      /strata_model_retry_after_pause_seconds_total\{provider="openai",model="gpt-test"\} 0.2/,
    );
    assert.match(metrics, /strata_model_queue_wait_seconds_count\{provider="openai",model="gpt-test"\} 2/);
    assert.match(metrics, /strata_model_queued_calls\{provider="openai",model="gpt-test"\} 0/);
  });
});
