// Issue 12, item 1, token streaming of tool calls: an agent's model call answered over the real
// OpenAI-compatible and Anthropic wire formats (local wire servers, the real drivers) streams its
// tool call as `tool_call_delta` events (id and name first, then the arguments as they arrive) on
// `GET /v1/runs/:id/stream`, and `strata runs logs --follow` prints them on a line of their own; a
// retried attempt still starts with `reset` before its tool-call deltas — on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';
import { printTokens } from '../src/cli/commands/runs-tokens.ts';
import { sseMessages } from '../src/cli/sse.ts';
import {
  createAnthropicProvider,
  createOpenAICompatibleProvider,
  type ModelProvider,
} from '../src/models/index.ts';
import { defineAgent } from '../src/orchestration/agent/define-agent.ts';
import { agentHarness, type AgentHarness } from '../src/orchestration/agent/testing.ts';
import { runSyscalls } from '../src/orchestration/index.ts';
import { runStreamRoutes } from '../src/server/run-stream.ts';
import type { AppEnv } from '../src/server/types.ts';
import { defineTool } from '../src/tools/index.ts';
import { onEveryStore } from '../src/testkit/stores.ts';
import {
  startAnthropicWireServer,
  startOpenAIWireServer,
  type WireServer,
} from './fixtures/model-wire-servers.ts';

const add = defineTool({
  name: 'math.add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  handler: ({ a, b }) => ({ sum: a + b }),
});

const adder = defineAgent({
  name: 'adder',
  version: 1,
  instructions: 'You add numbers.',
  model: 'scripted/m',
  tools: ['math.add'],
  maxTurns: 3,
});

const formats: {
  name: string;
  callId: string;
  start(): Promise<WireServer>;
  provider(url: string): ModelProvider;
}[] = [
  {
    name: 'openai-compatible',
    callId: 'call_1',
    start: startOpenAIWireServer,
    provider: (url) =>
      createOpenAICompatibleProvider({ name: 'scripted', baseUrl: `${url}/v1`, apiKey: 'sk-test' }),
  },
  {
    name: 'anthropic',
    callId: 'toolu_1',
    start: startAnthropicWireServer,
    provider: (url) => createAnthropicProvider({ name: 'scripted', baseUrl: url, apiKey: 'sk-ant-test' }),
  },
];

type ToolPiece = { index: number; id?: string; name?: string; arguments: string };

/** Serves the stream route of `h` on loopback behind `Authorization: Bearer <key>`. */
async function serveStream(h: AgentHarness): Promise<{ url: string; close(): void }> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set(
      'principal',
      await h.kernel.authenticate({ apiKey: (c.req.header('authorization') ?? '').slice(7) }),
    );
    await next();
  });
  assert.ok(h.streams);
  app.route('/v1', runStreamRoutes({ kernel: h.kernel, engine: h.engine, streams: h.streams, pollMs: 50 }));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

onEveryStore('run stream tool-call deltas', (db) => {
  for (const format of formats)
    it(`${format.name}: the tool call streams as tool_call_delta events; the CLI prints them readably`, async () => {
      const wire = await format.start();
      wire.queue(
        { kind: 'tool', name: 'math__add', args: { a: 2, b: 3 } },
        { kind: 'text', text: 'The sum is 5.' },
      );
      const h = await agentHarness(db(), {
        provider: format.provider(wire.url),
        tools: [add],
        streams: true,
      });
      const served = await serveStream(h);
      try {
        for (const d of runSyscalls(h.engine)) h.kernel.register(d);
        h.engine.register(adder);
        const { key } = await h.kernel.principals.createApiKey({
          tenantId: h.principal.tenantId,
          name: 'reader',
          grants: [{ syscall: 'runs.get', resource: '*' }],
        });
        const auth = { authorization: `Bearer ${key}` };
        const run = await h.engine.start('adder', { prompt: 'What is 2 + 3?' }, { principal: h.principal });
        let printed = '';
        const remote = {
          url: served.url,
          call: () => Promise.reject(new Error('not used')),
          get: (path: string, headers: Record<string, string>, signal: AbortSignal) =>
            fetch(`${served.url}${path}`, { headers: { ...headers, ...auth }, signal }),
        };
        const cli = printTokens(remote, run.id, (text) => (printed += text), AbortSignal.timeout(30_000));
        await h.worker();
        const response = await fetch(`${served.url}/v1/runs/${run.id}/stream`, { headers: auth });
        assert.ok(response.body);
        const events: { id: string | undefined; event: string; data: Record<string, unknown> }[] = [];
        for await (const m of sseMessages(response.body))
          events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as Record<string, unknown> });
        await cli;

        assert.equal(events.at(-1)?.event, 'done');
        assert.equal(events.at(-1)?.data['status'], 'completed', JSON.stringify(events.at(-1)?.data));
        const tools = events.filter((e) => e.event === 'tool_call_delta');
        const pieces = tools.map((e) => e.data['toolCall'] as ToolPiece);
        assert.ok(pieces.length >= 3, `the call streams in pieces (got ${pieces.length})`);
        assert.deepEqual(
          { id: pieces[0]?.id, name: pieces[0]?.name, index: pieces[0]?.index },
          { id: format.callId, name: 'math__add', index: 0 },
          'the first piece names the call',
        );
        assert.ok(pieces.every((p) => p.index === 0));
        assert.deepEqual(JSON.parse(pieces.map((p) => p.arguments).join('')), { a: 2, b: 3 });
        // Same channel and key space as text: the first model call's seq, attempt 1, in order.
        const seq = tools[0]?.data['seq'];
        assert.deepEqual(
          tools.map((e) => e.id),
          tools.map((_, i) => `${String(seq)}.1.${i + 1}`),
        );
        const text = events.filter((e) => e.event === 'delta').map((e) => String(e.data['text']));
        assert.equal(text.join(''), 'The sum is 5.');
        assert.ok(
          events.findIndex((e) => e.event === 'tool_call_delta') <
            events.findIndex((e) => e.event === 'delta'),
        );
        assert.equal(printed, `\n[tool math__add ${format.callId}] {"a":2,"b":3}\nThe sum is 5.`);
      } finally {
        served.close();
        await h.close();
        await wire.close();
      }
    });

  it('a retried attempt starts with reset, then its own tool-call deltas', async () => {
    const wire = await startOpenAIWireServer();
    const h = await agentHarness(db(), { provider: formats[0]!.provider(wire.url), streams: true });
    try {
      const streams = h.streams;
      assert.ok(streams);
      const call = { runId: 'run_retry', idempotencyKey: 'run_retry:4' };
      const first = streams.open(call);
      first?.toolCall?.({ index: 0, id: 'call_a', name: 'math__add', arguments: '{"a":' });
      await first?.close(); // the worker dies here; another attempt runs the same journal position
      const second = streams.open(call);
      second?.toolCall?.({ index: 0, id: 'call_b', name: 'math__add', arguments: '' });
      second?.toolCall?.({ index: 0, arguments: '{"a":2,"b":3}' });
      await second?.close();
      const events = await streams.list('run_retry', undefined, 100);
      assert.deepEqual(
        events.map((e) => [e.type, `${e.seq}.${e.attempt}.${e.delta}`, e.toolCall?.id ?? null]),
        [
          ['tool_call_delta', '4.1.1', 'call_a'],
          ['reset', '4.2.0', null],
          ['tool_call_delta', '4.2.1', 'call_b'],
          ['tool_call_delta', '4.2.2', null],
        ],
      );
      assert.equal(events.at(-1)?.toolCall?.arguments, '{"a":2,"b":3}');
    } finally {
      await h.close();
      await wire.close();
    }
  });
});
