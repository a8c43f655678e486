// Chaos's model faults realised in the models layer, through `model.generate` on a real kernel
// (SQLite): against local servers speaking the OpenAI and Anthropic wire formats, the provider SDK
// receives a real 429 (Retry-After honoured, then the retry succeeds), a real 500, a request that
// never answers (the provider's timeout ends it), and a real response whose tool-call arguments
// are broken (E_MODEL_BAD_RESPONSE); the scripted provider reports the same faults the same way.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ChaosInjector,
  chaosSchema,
  isStrataError,
  Kernel,
  systemClock,
  type FaultMark,
  type Principal,
} from '../src/kernel/index.ts';
import {
  createScriptedProvider,
  ModelService,
  modelSyscalls,
  parseModelsConfig,
} from '../src/models/index.ts';
import { freshDatabase } from '../src/testkit/stores.ts';
import {
  startAnthropicWireServer,
  startOpenAIWireServer,
  type WireServer,
} from './fixtures/model-wire-servers.ts';

type Result = { text: string; toolCalls: unknown[]; attempts: { target: string; outcome: string }[] };

describe('model faults injected by chaos', () => {
  let openai: WireServer;
  let anthropic: WireServer;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let kernel: Kernel;
  let admin: Principal;
  const chaos = new ChaosInjector({ config: chaosSchema.parse({}), mode: 'development', clock: systemClock });
  const scripted = createScriptedProvider({
    script: (request) =>
      request.messages.at(-1)?.content === 'use a tool'
        ? { toolCalls: [{ id: 'c1', name: 'lookup', arguments: { q: 'x' } }] }
        : { text: 'scripted answer' },
    timeoutMs: 100,
  });

  before(async () => {
    [openai, anthropic, db] = await Promise.all([
      startOpenAIWireServer(),
      startAnthropicWireServer(),
      freshDatabase('sqlite'),
    ]);
    const config = parseModelsConfig({
      providers: [
        {
          name: 'openai',
          driver: 'openai-compatible',
          baseUrl: `${openai.url}/v1`,
          models: ['gpt-test'],
          timeoutMs: 300,
          retry: { attempts: 2, baseDelayMs: 10 },
        },
        {
          name: 'anthropic',
          driver: 'anthropic',
          baseUrl: anthropic.url,
          models: ['claude-test'],
          retry: { attempts: 1 },
        },
        { name: 'scripted', driver: 'scripted', models: ['s'], retry: { attempts: 2, baseDelayMs: 10 } },
      ],
    });
    const models = new ModelService({
      config,
      providers: { scripted },
      resolveSecret: () => Promise.resolve(undefined),
    });
    kernel = await Kernel.open({ store: await db.open(), masterKey: randomBytes(32), chaos });
    for (const definition of modelSyscalls(models)) kernel.register(definition);
    const tenant = await kernel.principals.createTenant('models');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await kernel.close();
    await Promise.all([openai.close(), anthropic.close(), db.drop()]);
  });

  const generate = (model: string, content = 'Say hi'): Promise<Result> =>
    kernel.call<Result>(
      'model.generate',
      { model, messages: [{ role: 'user', content }] },
      { principal: admin },
    );
  /** Runs `fn` with every model.generate call suffering `fault`; returns the call's audit marks. */
  async function faulted<T>(
    fault: string,
    fn: () => Promise<T>,
  ): Promise<{ value?: T; error?: unknown; marks: FaultMark[] }> {
    chaos.set(
      chaosSchema.parse({ enabled: true, rules: [{ syscall: 'model.generate', errorRate: 1, fault }] }),
    );
    const outcome = await fn().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    chaos.set(chaosSchema.parse({}));
    await kernel.audit.flush();
    const entries = await kernel.audit.list(admin.tenantId, { limit: 1000 });
    const detail = entries.filter((e) => e.action === 'model.generate').at(-1)?.detail as {
      faults: FaultMark[];
    };
    return { ...outcome, marks: detail.faults };
  }
  const codeOf = (error: unknown): string => (isStrataError(error) ? error.code : String(error));

  it('http_429: the SDK gets a real 429; the service waits out Retry-After and the retry answers', async () => {
    const before = openai.requests.length;
    const { value, marks } = await faulted('http_429', () => generate('openai/gpt-test'));
    assert.deepEqual(
      value?.attempts.map((a) => a.outcome),
      ['E_RATE_LIMITED', 'ok'],
    );
    assert.equal(openai.requests.length - before, 1, 'only the retry reached the provider');
    assert.deepEqual(marks, [
      { kind: 'http_429', layer: 'models', rule: 'rules[0]', attempt: 1, realised: true },
    ]);
  });

  it('http_500 and model_timeout: the provider fails as unavailable, the retry answers', async () => {
    const failed = await faulted('http_500', () => generate('anthropic/claude-test'));
    assert.equal(codeOf(failed.error), 'E_MODEL_UNAVAILABLE', 'anthropic is configured without retries');
    assert.equal(failed.marks[0]?.realised, true);
    const started = performance.now();
    const slow = await faulted('model_timeout', () => generate('openai/gpt-test'));
    assert.deepEqual(
      slow.value?.attempts.map((a) => a.outcome),
      ['E_MODEL_UNAVAILABLE', 'ok'],
    );
    assert.ok(performance.now() - started >= 290, 'the provider’s 300 ms timeout ended the hung request');
  });

  it('malformed_tool_json: a real response with broken tool-call arguments is E_MODEL_BAD_RESPONSE', async () => {
    openai.queue({ kind: 'tool', name: 'lookup', args: { q: 'x' } });
    const broken = await faulted('malformed_tool_json', () => generate('openai/gpt-test'));
    assert.equal(codeOf(broken.error), 'E_MODEL_BAD_RESPONSE');
    assert.equal(broken.marks[0]?.realised, true);
    anthropic.queue({ kind: 'tool', name: 'lookup', args: { q: 'x' } });
    const viaAnthropic = await faulted('malformed_tool_json', () => generate('anthropic/claude-test'));
    assert.equal(codeOf(viaAnthropic.error), 'E_MODEL_BAD_RESPONSE');
    const plain = await faulted('malformed_tool_json', () => generate('openai/gpt-test'));
    assert.equal(plain.marks[0]?.realised, false, 'a text answer has no tool call to break');
    assert.ok(plain.value);
  });

  it('the scripted provider realises the same faults', async () => {
    const limited = await faulted('http_429', () => generate('scripted/s'));
    assert.deepEqual(
      limited.value?.attempts.map((a) => a.outcome),
      ['E_RATE_LIMITED', 'ok'],
    );
    const slow = await faulted('model_timeout', () => generate('scripted/s'));
    assert.deepEqual(
      slow.value?.attempts.map((a) => a.outcome),
      ['E_MODEL_UNAVAILABLE', 'ok'],
    );
    const broken = await faulted('malformed_tool_json', () => generate('scripted/s', 'use a tool'));
    assert.equal(codeOf(broken.error), 'E_MODEL_BAD_RESPONSE');
    assert.equal(broken.marks[0]?.realised, true);
  });
});
