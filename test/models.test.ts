// The models layer end to end, against local servers speaking the OpenAI and Anthropic wire
// formats: retries that honour Retry-After, fallback on a 500, malformed responses, the price book
// and cost on the run that made the calls, audit entries without prompts, GenAI trace attributes,
// and bad input (unknown model, missing key, oversized prompt).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { createLogger, Kernel, type Principal } from '../src/kernel/index.ts';
import { ModelService, modelSyscalls, parseModelsConfig, type ModelResult } from '../src/models/index.ts';
import { defineWorkflow, Engine, Worker } from '../src/orchestration/index.ts';
import { freshDatabase, withCode } from '../src/testkit/stores.ts';
import {
  startAnthropicWireServer,
  startOpenAIWireServer,
  type WireServer,
} from './fixtures/model-wire-servers.ts';

const PROMPT_SECRET = 'my-bank-password-is-hunter2-XYZZY';
const VAULT_KEY = 'sk-vault-value-never-logged-123';

let openai: WireServer;
let anthropic: WireServer;
const vault = new Map<string, string>();

function config(overrides: Record<string, unknown> = {}) {
  return parseModelsConfig({
    providers: [
      {
        name: 'openai',
        driver: 'openai-compatible',
        baseUrl: `${openai.url}/v1`,
        apiKeySecret: 'openai-key',
        models: ['gpt-test'],
        embeddingModels: ['embed-test'],
        retry: { attempts: 2, baseDelayMs: 10 },
      },
      {
        name: 'anthropic',
        driver: 'anthropic',
        baseUrl: anthropic.url,
        apiKeySecret: 'anthropic-key',
        models: ['claude-test'],
        retry: { attempts: 1 },
      },
      {
        name: 'nokey',
        driver: 'openai-compatible',
        baseUrl: `${openai.url}/v1`,
        apiKeySecret: 'nokey-key',
        models: ['m'],
      },
    ],
    routes: { smart: ['openai/gpt-test', 'anthropic/claude-test'] },
    prices: {
      'openai/gpt-test': { input: 2.5, output: 10, cachedInput: 1.25 },
      'anthropic/claude-test': { input: 3, output: 15 },
    },
    maxPromptTokens: 2_000,
    ...overrides,
  });
}

const service = (): ModelService =>
  new ModelService({ config: config(), resolveSecret: (_call, name) => Promise.resolve(vault.get(name)) });

before(async () => {
  openai = await startOpenAIWireServer();
  anthropic = await startAnthropicWireServer();
  vault.set('openai-key', VAULT_KEY);
  vault.set('anthropic-key', 'sk-ant-vault-456');
});
after(async () => {
  await openai.close();
  await anthropic.close();
});

const ask = (model: string, content = 'Say hi') => ({
  model,
  messages: [{ role: 'user' as const, content }],
});
const call = { tenantId: 'ten_a' };

describe('model service', () => {
  it('sends the vault key and prices usage from the price book (cached input at its own price)', async () => {
    openai.queue({ kind: 'text', text: 'hello there friend', cachedTokens: 2 });
    const out = await service().generate(ask('openai/gpt-test'), call);
    assert.equal(openai.requests.at(-1)?.headers['authorization'], `Bearer ${VAULT_KEY}`);
    const { inputTokens, outputTokens, cachedInputTokens } = out.usage;
    assert.equal(cachedInputTokens, 2);
    assert.equal(out.costMicros, Math.ceil((inputTokens - 2) * 2.5 + 2 * 1.25 + outputTokens * 10));
    assert.equal(out.target, 'openai/gpt-test');
    assert.deepEqual(out.attempts, [{ target: 'openai/gpt-test', outcome: 'ok' }]);
  });

  it('waits out a 429 for its Retry-After, then succeeds on the same provider', async () => {
    openai.queue(
      { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      { kind: 'text', text: 'after wait' },
    );
    const started = performance.now();
    const out = await service().generate(ask('openai/gpt-test'), call);
    const waited = performance.now() - started;
    assert.equal(out.text, 'after wait');
    assert.ok(waited >= 950, `waited ${Math.round(waited)} ms, Retry-After asked 1000`);
    assert.deepEqual(
      out.attempts.map((a) => a.outcome),
      ['E_RATE_LIMITED', 'ok'],
    );
  });

  it('falls back to the next provider of a route when one keeps failing with 500', async () => {
    openai.queue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    anthropic.queue({ kind: 'text', text: 'from the fallback' });
    const out = await service().generate(ask('smart'), call);
    assert.equal(out.text, 'from the fallback');
    assert.equal(out.provider, 'anthropic');
    assert.deepEqual(out.attempts, [
      { target: 'openai/gpt-test', outcome: 'E_MODEL_UNAVAILABLE' },
      { target: 'openai/gpt-test', outcome: 'E_MODEL_UNAVAILABLE' },
      { target: 'anthropic/claude-test', outcome: 'ok' },
    ]);
    // The official SDK sends the vault's key (as x-api-key or a bearer token, by SDK version).
    const headers = anthropic.requests.at(-1)?.headers ?? {};
    assert.ok(
      headers['x-api-key'] === 'sk-ant-vault-456' || headers['authorization'] === 'Bearer sk-ant-vault-456',
    );
  });

  it('translates tool results into Anthropic tool_result blocks in one user turn', async () => {
    anthropic.queue({ kind: 'text', text: 'done' });
    await service().generate(
      {
        model: 'anthropic/claude-test',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Oslo and Rome?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [
              { id: 't1', name: 'w', arguments: { city: 'Oslo' } },
              { id: 't2', name: 'w', arguments: { city: 'Rome' } },
            ],
          },
          { role: 'tool', toolCallId: 't1', content: '4C' },
          { role: 'tool', toolCallId: 't2', content: '18C' },
        ],
      },
      call,
    );
    const body = anthropic.requests.at(-1)?.body as {
      system: string;
      messages: { role: string; content: { type: string; tool_use_id?: string }[] }[];
    };
    assert.equal(body.system, 'Be brief.');
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(
      body.messages[2]?.content.map((b) => [b.type, b.tool_use_id]),
      [
        ['tool_result', 't1'],
        ['tool_result', 't2'],
      ],
    );
  });

  it('reports malformed JSON from the server as E_MODEL_BAD_RESPONSE without retrying it', async () => {
    const before = openai.requests.length;
    openai.queue({ kind: 'malformed' });
    await assert.rejects(service().generate(ask('openai/gpt-test'), call), withCode('E_MODEL_BAD_RESPONSE'));
    assert.equal(openai.requests.length - before, 1, 'one request: a bad response is not retried');
  });

  it('embeds through the OpenAI wire format, one vector per text, in order', async () => {
    const out = await service().embed('openai/embed-test', ['a', 'bbb'], call);
    assert.deepEqual(out.vectors, [
      [1, 0, 1],
      [3, 1, 1],
    ]);
    assert.ok(out.usage.inputTokens > 0);
  });

  it('refuses bad input with codes that say what to do', async () => {
    const s = service();
    const unknown = await s.generate(ask('openai/gpt-nope'), call).catch((e: unknown) => e);
    assert.ok(withCode('E_UNKNOWN_MODEL')(unknown));
    assert.match((unknown as Error).message, /openai\/gpt-test.*anthropic\/claude-test.*smart/);
    await assert.rejects(s.generate(ask('mistral/large'), call), withCode('E_UNKNOWN_MODEL'));
    const missing = await s.generate(ask('nokey/m'), call).catch((e: unknown) => e);
    assert.ok(withCode('E_MODEL_KEY_MISSING')(missing));
    assert.match((missing as Error).message, /vault entry "nokey-key"/);
    await assert.rejects(
      s.generate(ask('openai/gpt-test', 'x'.repeat(9_000)), call),
      withCode('E_PROMPT_TOO_LARGE'),
    );
    assert.throws(
      () => parseModelsConfig({ providers: [{ name: 'x', driver: 'openai-compatible', models: ['m'] }] }),
      (e: Error) => withCode('E_CONFIG')(e) && /models\.providers\.0\.baseUrl/.test(e.message),
    );
  });
});

describe('model syscalls in a durable run', () => {
  const spans = new InMemorySpanExporter();
  const logLines: string[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let kernel: Kernel;
  let engine: Engine;
  let worker: Worker;
  let principal: Principal;

  before(async () => {
    db = await freshDatabase('sqlite');
    const store = await db.open();
    engine = await Engine.open({ store });
    kernel = await Kernel.open({
      store,
      masterKey: randomBytes(32),
      meter: engine.meterHook,
      logger: createLogger({
        level: 'trace',
        destination: new Writable({ write: (c: Buffer, _e, done) => (logLines.push(c.toString()), done()) }),
      }),
      tracer: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('test'),
    });
    engine.attachKernel(kernel);
    for (const d of modelSyscalls(service())) kernel.register(d);
    const tenant = await kernel.principals.createTenant('models');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'k',
      grants: [{ syscall: '*', resource: '*' }],
    });
    principal = await kernel.authenticate({ apiKey: key });
    worker = new Worker(engine, { pollMs: 20 });
    await worker.start();
  });
  after(async () => {
    await worker.stop();
    await kernel.close();
    await db.drop();
  });

  it('a run making 3 model calls carries their summed cost; one audit entry each, no prompt in any', async () => {
    const threeCalls = defineWorkflow(
      { name: 'three-calls', version: 1, input: z.object({}), output: z.array(z.number()) },
      async (ctx) => {
        const costs: number[] = [];
        for (const model of ['openai/gpt-test', 'anthropic/claude-test', 'smart']) {
          const out = await ctx.syscall<ModelResult>('model.generate', {
            model,
            messages: [{ role: 'user', content: `${PROMPT_SECRET}: summarise the weather` }],
          });
          costs.push(out.costMicros);
        }
        return costs;
      },
    );
    engine.register(threeCalls);
    openai.queue({ kind: 'text', text: 'sunny all week' }, { kind: 'text', text: 'still sunny' });
    anthropic.queue({ kind: 'text', text: 'cloudy later' });
    const run = await engine.start('three-calls', {}, { principal });
    let done = await engine.get(principal.tenantId, run.id);
    for (let i = 0; i < 500 && done.status !== 'completed' && done.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      done = await engine.get(principal.tenantId, run.id);
    }
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const costs = done.output as number[];
    assert.equal(costs.length, 3);
    assert.ok(costs.every((c) => c > 0));
    assert.equal(done.costMicros, costs[0]! + costs[1]! + costs[2]!);

    await kernel.audit.flush();
    const entries = (await kernel.audit.list(principal.tenantId)).filter(
      (e) => e.action === 'model.generate',
    );
    assert.equal(entries.length, 3);
    assert.deepEqual(
      entries.map((e) => e.costMicros),
      costs,
    );
    assert.deepEqual(
      entries.map((e) => e.resource),
      ['models/openai/gpt-test', 'models/anthropic/claude-test', 'models/smart'],
    );
    const everything =
      JSON.stringify(entries) +
      logLines.join('') +
      JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    assert.ok(!everything.includes(PROMPT_SECRET), 'the prompt never reaches audit, logs or traces');
    assert.ok(!everything.includes(VAULT_KEY), 'the provider key never reaches audit, logs or traces');
    const span = spans.getFinishedSpans().find((s) => s.name === 'syscall model.generate');
    assert.equal(span?.attributes['gen_ai.request.model'], 'openai/gpt-test');
    assert.equal(span?.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(typeof span?.attributes['gen_ai.usage.input_tokens'], 'number');
    assert.deepEqual(span?.attributes['gen_ai.response.finish_reasons'], ['stop']);
  });

  it('is denied without a grant on the model, and records the fallback in the audit entry', async () => {
    const { key } = await kernel.principals.createApiKey({
      tenantId: principal.tenantId,
      name: 'only-anthropic',
      grants: [{ syscall: 'model.generate', resource: 'models/anthropic/*' }],
    });
    const narrow = await kernel.authenticate({ apiKey: key });
    await assert.rejects(
      kernel.call('model.generate', ask('openai/gpt-test'), { principal: narrow }),
      withCode('E_CAPABILITY_DENIED'),
    );
    anthropic.queue({ kind: 'text', text: 'allowed' });
    const ok = await kernel.call<ModelResult>('model.generate', ask('anthropic/claude-test'), {
      principal: narrow,
    });
    assert.equal(ok.text, 'allowed');

    openai.queue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    anthropic.queue({ kind: 'text', text: 'fallback' });
    await kernel.call('model.generate', ask('smart'), { principal });
    await kernel.audit.flush();
    const last = (await kernel.audit.list(principal.tenantId))
      .filter((e) => e.action === 'model.generate')
      .at(-1);
    const result = (last?.detail as { result: { attempts: { outcome: string }[]; target: string } }).result;
    assert.equal(result.target, 'anthropic/claude-test');
    assert.deepEqual(
      result.attempts.map((a) => a.outcome),
      ['E_MODEL_UNAVAILABLE', 'E_MODEL_UNAVAILABLE', 'ok'],
    );
  });
});
