// Chaos's model faults realised in the models layer, through `model.generate` on a real kernel
// (SQLite): against local servers speaking the OpenAI and Anthropic wire formats, the provider SDK
// receives a real 429 (Retry-After honoured, then the retry succeeds), a real 500, a request that
// never answers (the provider's timeout ends it), and a real response whose tool-call arguments
// are broken (a retryable E_MODEL_BAD_RESPONSE: the retry answers); the scripted provider reports
// the same faults the same way. Streamed (the run stream attached): the fault breaks the
// tool-call arguments in the real server-sent events as they arrive, the broken deltas are
// published, the run stream is reset and the service's retry answers with the real tool call; a
// sink that cannot discard what it showed gets the clear, retryable error instead of a tool call
// with no arguments. An outage naming a provider makes it unreachable (nothing reaches its
// server) while the route's next target answers, streamed or not; other providers pass.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ChaosInjector,
  chaosSchema,
  isStrataError,
  Kernel,
  systemClock,
  type ChaosConfigInput,
  type FaultMark,
  type NamedFault,
  type Principal,
} from '../src/kernel/index.ts';
import { BROKEN_TOOL_JSON } from '../src/models/chaos-faults.ts';
import {
  createScriptedProvider,
  ModelService,
  modelSyscalls,
  parseModelsConfig,
  type DeltaSinkLike,
} from '../src/models/index.ts';
import { RunStreams } from '../src/orchestration/index.ts';
import { principalInNewTenant } from '../src/testkit/principals.ts';
import { freshDatabase } from '../src/testkit/stores.ts';
import {
  startAnthropicWireServer,
  startOpenAIWireServer,
  type WireServer,
} from './fixtures/model-wire-servers.ts';

type Result = {
  text: string;
  target: string;
  toolCalls: unknown[];
  attempts: { target: string; outcome: string }[];
};

describe('model faults injected by chaos', () => {
  let openai: WireServer;
  let anthropic: WireServer;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let kernel: Kernel;
  let streams: RunStreams;
  let admin: Principal;
  /** What a sink that cannot discard its output (no `reset`) was given. */
  const shown: string[] = [];
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
      routes: { main: ['openai/gpt-test', 'anthropic/claude-test'] },
    });
    const models = new ModelService({
      config,
      providers: { scripted },
      resolveSecret: () => Promise.resolve(undefined),
    });
    const store = await db.open();
    kernel = await Kernel.open({ store, masterKey: randomBytes(32), chaos });
    streams = await RunStreams.open({ store });
    const plain = (): DeltaSinkLike => ({
      text: (t) => void shown.push(t),
      toolCall: (piece) => void shown.push(piece.arguments),
      close: () => Promise.resolve(),
    });
    // Calls of runs named `plain_…` go to a sink without `reset` (an older publisher).
    const deltas = {
      open: (call: { runId: string; idempotencyKey: string }) =>
        call.runId.startsWith('plain_') ? plain() : streams.open(call),
    };
    for (const definition of modelSyscalls(models, { deltas })) kernel.register(definition);
    admin = await principalInNewTenant(kernel, 'models', [{ syscall: '*', resource: '*' }]);
  });
  after(async () => {
    await kernel.close();
    await Promise.all([openai.close(), anthropic.close(), db.drop()]);
  });

  /** model.generate; streamed when made at journal position 1 of `runId`. */
  const generate = (model: string, content = 'Say hi', runId?: string): Promise<Result> =>
    kernel.call<Result>(
      'model.generate',
      { model, messages: [{ role: 'user', content }] },
      { principal: admin, ...(runId ? { runId, idempotencyKey: `${runId}:1` } : {}) },
    );
  /** Runs `fn` with every model.generate call suffering `fault`; returns the call's audit marks. */
  const faulted = <T>(fault: NamedFault, fn: () => Promise<T>) =>
    under({ rules: [{ syscall: 'model.generate', errorRate: 1, fault }] }, fn);
  /** Runs `fn` under the chaos `config`; returns its outcome and its call's audit marks. */
  async function under<T>(
    config: ChaosConfigInput,
    fn: () => Promise<T>,
  ): Promise<{ value?: T; error?: unknown; marks: FaultMark[] }> {
    chaos.set(chaosSchema.parse({ enabled: true, ...config }));
    const outcome = await fn().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    chaos.set(chaosSchema.parse({}));
    await kernel.audit.flush();
    const entries = await kernel.audit.list(admin.tenantId, { limit: 1000 });
    const detail = entries.filter((e) => e.action === 'model.generate').at(-1)?.detail as {
      faults?: FaultMark[];
    };
    return { ...outcome, marks: detail.faults ?? [] };
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

  it('malformed_tool_json: broken tool-call arguments are a retryable E_MODEL_BAD_RESPONSE; the retry answers', async () => {
    openai.queue(
      { kind: 'tool', name: 'lookup', args: { q: 'x' } },
      { kind: 'tool', name: 'lookup', args: { q: 'x' } },
    );
    const retried = await faulted('malformed_tool_json', () => generate('openai/gpt-test'));
    assert.deepEqual(
      retried.value?.attempts.map((a) => a.outcome),
      ['E_MODEL_BAD_RESPONSE', 'ok'],
    );
    assert.deepEqual(retried.value?.toolCalls, [{ id: 'call_1', name: 'lookup', arguments: { q: 'x' } }]);
    assert.equal(retried.marks[0]?.realised, true);
    anthropic.queue({ kind: 'tool', name: 'lookup', args: { q: 'x' } });
    const viaAnthropic = await faulted('malformed_tool_json', () => generate('anthropic/claude-test'));
    assert.equal(
      codeOf(viaAnthropic.error),
      'E_MODEL_BAD_RESPONSE',
      'anthropic is configured without retries',
    );
    assert.ok(isStrataError(viaAnthropic.error) && viaAnthropic.error.retryable);
    assert.match(String(viaAnthropic.error), /malformed tool call: tool call input is not a JSON object/);
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
    assert.deepEqual(
      broken.value?.attempts.map((a) => a.outcome),
      ['E_MODEL_BAD_RESPONSE', 'ok'],
    );
    assert.equal(broken.marks[0]?.realised, true);
  });

  const tool = { kind: 'tool', name: 'lookup', args: { q: 'x' } } as const;
  const injected = (kind: string) =>
    chaos.status().faults.find((f) => f.layer === 'models' && f.kind === kind)?.count ?? 0;

  for (const [name, model, wire, callId] of [
    ['OpenAI', 'openai/gpt-test', () => openai, 'call_1'],
    ['Anthropic', 'anthropic/claude-test', () => anthropic, 'toolu_1'],
  ] as const)
    it(`malformed_tool_json over the ${name} stream: broken deltas published, reset, the retry answers`, async () => {
      wire().queue(tool, tool);
      const counted = injected('malformed_tool_json');
      const runId = `run_${name}`;
      const { value, marks } = await faulted('malformed_tool_json', () =>
        generate(model, 'look it up', runId),
      );
      assert.deepEqual(
        value?.attempts,
        [
          { target: model, outcome: 'E_MODEL_BAD_RESPONSE' },
          { target: model, outcome: 'ok' },
        ],
        'the stream failed on the tool call; the service asked again',
      );
      assert.deepEqual(value?.toolCalls, [{ id: callId, name: 'lookup', arguments: { q: 'x' } }]);
      assert.equal(wire().requests.at(-2)?.body['stream'], true, 'the broken answer was streamed');
      assert.deepEqual(marks, [
        { kind: 'malformed_tool_json', layer: 'models', rule: 'rules[0]', attempt: 1, realised: true },
      ]);
      assert.equal(injected('malformed_tool_json'), counted + 1, 'counted in the chaos metric');

      // The run stream shows the broken arguments as they came, then a reset: clients drop them.
      const events = await streams.list(runId, undefined, 100);
      const pieces = events.filter((e) => e.type === 'tool_call_delta').map((e) => e.toolCall);
      assert.deepEqual(
        { id: pieces[0]?.id, name: pieces[0]?.name },
        { id: callId, name: 'lookup' },
        'the call streamed',
      );
      assert.equal(pieces.map((p) => p?.arguments).join(''), BROKEN_TOOL_JSON);
      assert.ok(pieces.every((p) => p?.index === 0));
      assert.deepEqual(
        events.filter((e) => e.type === 'reset').map((e) => `${e.seq}.${e.attempt}.${e.delta}`),
        ['1.2.0'],
      );
      assert.equal(events.at(-1)?.type, 'reset', 'the retry answered whole, not streamed');
    });

  it('a sink that cannot discard: a clear, retryable E_MODEL_BAD_RESPONSE, not an empty tool call', async () => {
    shown.length = 0;
    const { error, marks } = await faulted('malformed_tool_json', () =>
      generate('scripted/s', 'use a tool', 'plain_1'),
    );
    assert.ok(isStrataError(error), String(error));
    assert.equal(error.code, 'E_MODEL_BAD_RESPONSE');
    assert.equal(error.retryable, true);
    assert.equal(error.httpStatus, 502);
    assert.match(error.message, /^scripted answered with a malformed tool call: /);
    assert.deepEqual((error.data as { attempts: unknown }).attempts, [
      { target: 'scripted/s', outcome: 'E_MODEL_BAD_RESPONSE' },
    ]);
    assert.deepEqual(shown, [BROKEN_TOOL_JSON], 'the scripted stream sent the broken arguments first');
    assert.equal(marks[0]?.realised, true);
    // The same call to a sink that can reset is answered by the retry.
    const { value } = await faulted('malformed_tool_json', () =>
      generate('scripted/s', 'use a tool', 'run_scripted'),
    );
    assert.deepEqual(
      value?.attempts.map((a) => a.outcome),
      ['E_MODEL_BAD_RESPONSE', 'ok'],
    );
    assert.deepEqual(value?.toolCalls, [{ id: 'c1', name: 'lookup', arguments: { q: 'x' } }]);
  });

  it('a provider outage: nothing reaches it, the route falls back, streamed or not', async () => {
    const down = { outages: [{ provider: 'openai', startAfterMs: 0, durationMs: 60_000 }] };
    const reached = openai.requests.length;
    const plainCall = await under(down, () => generate('main'));
    assert.equal(plainCall.value?.target, 'anthropic/claude-test');
    assert.deepEqual(
      plainCall.value?.attempts,
      [
        { target: 'openai/gpt-test', outcome: 'E_MODEL_UNAVAILABLE' },
        { target: 'openai/gpt-test', outcome: 'E_MODEL_UNAVAILABLE' },
        { target: 'anthropic/claude-test', outcome: 'ok' },
      ],
      'still down on the retry: the next target answered',
    );
    assert.deepEqual(plainCall.marks, [
      { kind: 'outage', layer: 'models', rule: 'outages[0]', attempt: 1, realised: true },
    ]);
    const streamed = await under(down, () => generate('main', 'Say hi', 'run_outage'));
    assert.deepEqual(streamed.value?.attempts, [
      { target: 'openai/gpt-test', outcome: 'E_MODEL_UNAVAILABLE' },
      { target: 'anthropic/claude-test', outcome: 'ok' },
    ]);
    assert.ok((await streams.list('run_outage', undefined, 100)).some((e) => e.type === 'delta'));
    assert.equal(openai.requests.length, reached, 'the provider in its outage was never reached');

    const direct = await under(down, () => generate('openai/gpt-test'));
    assert.ok(isStrataError(direct.error) && direct.error.code === 'E_MODEL_UNAVAILABLE');
    assert.equal(direct.error.message, 'openai could not be reached (injected outage)');
    assert.deepEqual(
      { ...(direct.error.data as object), attempts: undefined },
      {
        provider: 'openai',
        injected: true,
        layer: 'models',
        kind: 'outage',
        rule: 'outages[0]',
        attempts: undefined,
      },
      'marked injected, so a run that fails on it is linked to the fault',
    );
    const other = await under(down, () => generate('anthropic/claude-test'));
    assert.ok(other.value, 'another provider is up');
    assert.equal(other.marks[0]?.realised, false, 'the outage did not touch it');
    const scriptedDown = await under(
      { outages: [{ provider: 'scripted', startAfterMs: 0, durationMs: 60_000 }] },
      () => generate('scripted/s'),
    );
    assert.ok(isStrataError(scriptedDown.error) && scriptedDown.error.code === 'E_MODEL_UNAVAILABLE');
    assert.equal(scriptedDown.marks[0]?.realised, true);
  });

  it('a provider outage belongs to the models layer', () => {
    const outage = { provider: 'openai', startAfterMs: 0, durationMs: 1000 };
    assert.ok(chaosSchema.safeParse({ outages: [outage] }).success);
    assert.ok(chaosSchema.safeParse({ outages: [{ ...outage, layer: 'models' }] }).success);
    assert.equal(chaosSchema.safeParse({ outages: [{ ...outage, layer: 'compute' }] }).success, false);
  });
});
