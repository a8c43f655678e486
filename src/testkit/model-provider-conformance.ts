/**
 * @module testkit/model-provider-conformance
 * The behaviour every `ModelProvider` driver must show, run by each driver's tests (and runnable by a
 * third-party driver): plain text, a tool call with parsed arguments, streamed text and a streamed
 * tool call that end in one `finish` delta with usage, and a multi-turn conversation that carries
 * tool results back. `prepare` arranges the next replies (a script, or a wire server's queue) and
 * returns the provider under test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelProvider, ProviderRequest, StreamDelta } from '../models/index.ts';

export type ConformanceReply = { text: string } | { tool: { name: string; args: Record<string, unknown> } };

export interface ProviderUnderTest {
  /** The provider's model name to ask for. */
  readonly model: string;
  prepare(...replies: ConformanceReply[]): Promise<ModelProvider> | ModelProvider;
}

const ask = (model: string, content: string): ProviderRequest => ({
  model,
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content },
  ],
});

async function collect(stream: AsyncIterable<StreamDelta>): Promise<StreamDelta[]> {
  const deltas: StreamDelta[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

export function describeModelProviderConformance(name: string, subject: () => ProviderUnderTest): void {
  describe(`model provider conformance: ${name}`, () => {
    it('answers with text, a stop reason and usage', async () => {
      const s = subject();
      const provider = await s.prepare({ text: 'Paris is the capital of France.' });
      const out = await provider.generate(ask(s.model, 'Capital of France?'));
      assert.equal(out.text, 'Paris is the capital of France.');
      assert.equal(out.finishReason, 'stop');
      assert.deepEqual(out.toolCalls, []);
      assert.ok(out.usage.inputTokens > 0, 'input tokens reported');
      assert.ok(out.usage.outputTokens > 0, 'output tokens reported');
      assert.ok(out.model.length > 0);
    });

    it('returns a tool call with parsed arguments', async () => {
      const s = subject();
      const provider = await s.prepare({ tool: { name: 'get_weather', args: { city: 'Oslo', days: 3 } } });
      const out = await provider.generate({
        ...ask(s.model, 'Weather in Oslo?'),
        tools: [
          {
            name: 'get_weather',
            description: 'Forecast',
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' }, days: { type: 'number' } },
            },
          },
        ],
        toolChoice: 'auto',
      });
      assert.equal(out.finishReason, 'tool_calls');
      assert.equal(out.toolCalls.length, 1);
      assert.equal(out.toolCalls[0]?.name, 'get_weather');
      assert.deepEqual(out.toolCalls[0]?.arguments, { city: 'Oslo', days: 3 });
      assert.ok((out.toolCalls[0]?.id ?? '').length > 0, 'tool calls carry an id');
    });

    it('streams text deltas that add up to the answer, then one finish with usage', async () => {
      const s = subject();
      const provider = await s.prepare({ text: 'one two three four' });
      const deltas = await collect(provider.stream(ask(s.model, 'Count to four')));
      const text = deltas.flatMap((d) => (d.type === 'text' ? [d.text] : [])).join('');
      assert.equal(text, 'one two three four');
      assert.ok(deltas.filter((d) => d.type === 'text').length > 1, 'more than one text delta');
      const last = deltas.at(-1);
      assert.equal(last?.type, 'finish');
      assert.equal(deltas.filter((d) => d.type === 'finish').length, 1);
      if (last?.type === 'finish') {
        assert.equal(last.finishReason, 'stop');
        assert.ok(last.usage.inputTokens > 0 && last.usage.outputTokens > 0);
      }
    });

    it('streams a tool call assembled from its pieces', async () => {
      const s = subject();
      const provider = await s.prepare({ tool: { name: 'lookup', args: { id: 'A-17', exact: true } } });
      const deltas = await collect(
        provider.stream({
          ...ask(s.model, 'Look up A-17'),
          tools: [{ name: 'lookup', description: '', parameters: {} }],
        }),
      );
      const calls = deltas.flatMap((d) => (d.type === 'tool_call' ? [d.toolCall] : []));
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.name, 'lookup');
      assert.deepEqual(calls[0]?.arguments, { id: 'A-17', exact: true });
      const last = deltas.at(-1);
      assert.ok(last?.type === 'finish' && last.finishReason === 'tool_calls');
    });

    it('carries tool results back in a multi-turn conversation', async () => {
      const s = subject();
      const provider = await s.prepare({ text: 'It is 4 degrees in Oslo.' });
      const out = await provider.generate({
        model: s.model,
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          {
            role: 'assistant',
            content: '',
            toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: { city: 'Oslo' } }],
          },
          { role: 'tool', toolCallId: 'call_9', content: '{"celsius":4}' },
        ],
      });
      assert.equal(out.text, 'It is 4 degrees in Oslo.');
    });
  });
}
