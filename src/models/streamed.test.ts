// generateStreamed: the result assembled from a stream equals what generate returns for the same
// answer; a stream refused before its first delta falls back to generate (its retries apply); a
// stream that breaks after output has started fails, unless the sink can discard that output: then
// it is reset and generate answers; a route's fallback while streaming shows in the attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StrataError } from '../kernel/index.ts';
import { parseModelsConfig } from './config.ts';
import { createScriptedProvider } from './drivers/scripted/index.ts';
import { ModelService } from './service.ts';
import { generateStreamed } from './streamed.ts';
import type { ModelProvider, StreamDelta } from './types.ts';

const config = parseModelsConfig({
  providers: [{ name: 'scripted', driver: 'scripted', models: ['m'], retry: { attempts: 1 } }],
});
const request = { model: 'scripted/m', messages: [{ role: 'user' as const, content: 'hi' }] };
const call = { tenantId: 't' };

function sink(): { texts: string[]; text(t: string): void; close(): Promise<void> } {
  const texts: string[] = [];
  return { texts, text: (t) => texts.push(t), close: () => Promise.resolve() };
}

test('a streamed result equals the generated one', async () => {
  const scripted = createScriptedProvider({ script: () => ({ text: 'hello there' }) });
  const service = new ModelService({ config, providers: { scripted } });
  const s = sink();
  const streamed = await generateStreamed(service, request, call, s);
  const generated = await service.generate(request, call);
  assert.deepEqual(streamed, generated);
  assert.equal(s.texts.join(''), 'hello there');
});

test('refused before the first delta: generate answers; broken after it: fails unless the sink can reset', async () => {
  let breakAfterOutput = false;
  const provider: ModelProvider = {
    name: 'scripted',
    generate: (r) =>
      Promise.resolve({
        text: 'generated',
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0 },
        model: r.model,
      }),
    async *stream(): AsyncIterable<StreamDelta> {
      await Promise.resolve();
      if (breakAfterOutput) yield { type: 'text', text: 'partial' };
      throw new StrataError('E_MODEL_UNAVAILABLE', 'overloaded', undefined, { retryable: true });
    },
  };
  const service = new ModelService({ config, providers: { scripted: provider } });
  assert.equal((await generateStreamed(service, request, call, sink())).text, 'generated');
  breakAfterOutput = true;
  await assert.rejects(generateStreamed(service, request, call, sink()), { code: 'E_MODEL_UNAVAILABLE' });
  // A sink that can discard what it showed is reset, then generate answers.
  const s = sink();
  const resets: number[] = [];
  const result = await generateStreamed(service, request, call, {
    ...s,
    reset: () => resets.push(s.texts.length),
  });
  assert.equal(result.text, 'generated');
  assert.deepEqual(resets, [1], 'reset once, after the partial output');
  assert.deepEqual(result.attempts, [
    { target: 'scripted/m', outcome: 'E_MODEL_UNAVAILABLE' },
    { target: 'scripted/m', outcome: 'ok' },
  ]);
});

test("a route's fallback while streaming is in the result's attempts", async () => {
  const routed = parseModelsConfig({
    providers: [
      { name: 'a', driver: 'scripted', models: ['m'], retry: { attempts: 1 } },
      { name: 'b', driver: 'scripted', models: ['m'], retry: { attempts: 1 } },
    ],
    routes: { main: ['a/m', 'b/m'] },
  });
  const down = createScriptedProvider({
    name: 'a',
    script: () => ({ error: new StrataError('E_MODEL_UNAVAILABLE', 'a is down') }),
  });
  const up = createScriptedProvider({ name: 'b', script: () => ({ text: 'from b' }) });
  const service = new ModelService({ config: routed, providers: { a: down, b: up } });
  const result = await generateStreamed(service, { ...request, model: 'main' }, call, sink());
  assert.equal(result.text, 'from b');
  assert.deepEqual(result.attempts, [
    { target: 'a/m', outcome: 'E_MODEL_UNAVAILABLE' },
    { target: 'b/m', outcome: 'ok' },
  ]);
});
