// Issue 12, item 1, token streaming: an agent's model call streams its deltas to
// `GET /v1/runs/:id/stream` (SSE over loopback HTTP) while only the final result is journaled; a
// worker stopped mid-stream is resumed by another process, whose attempt starts with `reset`; a
// client resuming with Last-Event-ID gets no duplicates — on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { printTokens } from '../src/cli/commands/runs-tokens.ts';
import { sseMessages } from '../src/cli/sse.ts';
import type { ModelProvider, ProviderRequest, StreamDelta } from '../src/models/index.ts';
import { defineAgent } from '../src/orchestration/agent/define-agent.ts';
import { agentHarness, type AgentHarness } from '../src/orchestration/agent/testing.ts';
import { runSyscalls } from '../src/orchestration/index.ts';
import { runStreamRoutes } from '../src/server/run-stream.ts';
import type { AppEnv } from '../src/server/types.ts';
import { onEveryStore } from '../src/testkit/stores.ts';

const writer = defineAgent({
  name: 'writer',
  version: 1,
  instructions: 'Write.',
  model: 'scripted/m',
  maxTurns: 2,
});

/** A provider that only streams: `pieces` one by one; with `hangAfter`, then waits until aborted. */
function streamingModel(pieces: readonly string[], hangAfter?: number): ModelProvider & { calls: number } {
  const model = {
    name: 'scripted',
    calls: 0,
    generate: () => Promise.reject(new Error('this model only streams')),
    async *stream(request: ProviderRequest): AsyncIterable<StreamDelta> {
      model.calls++;
      for (const [i, text] of pieces.entries()) {
        if (i === hangAfter)
          await new Promise((_, reject) =>
            request.signal?.addEventListener('abort', () => reject(request.signal?.reason as Error)),
          );
        await new Promise((r) => setTimeout(r, 5));
        yield { type: 'text', text };
      }
      const usage = { inputTokens: 10, outputTokens: pieces.length, cachedInputTokens: 0 };
      yield { type: 'finish', finishReason: 'stop', usage, model: request.model };
    },
  };
  return model;
}

interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Serves the stream route of `h` on loopback, authenticating `Authorization: Bearer <key>`. */
async function serveStream(h: AgentHarness): Promise<{ url: string; server: ServerType }> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    const apiKey = (c.req.header('authorization') ?? '').replace(/^Bearer /, '');
    c.set('principal', await h.kernel.authenticate({ apiKey }));
    await next();
  });
  app.onError((error) => Response.json({ error: { message: error.message } }, { status: 403 }));
  const streams = h.streams;
  assert.ok(streams);
  app.route('/v1', runStreamRoutes({ kernel: h.kernel, engine: h.engine, streams, pollMs: 50 }));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Reads SSE events until `enough(events)` or the stream ends. */
async function readEvents(
  url: string,
  headers: Record<string, string>,
  enough: (events: SseEvent[]) => boolean = () => false,
): Promise<SseEvent[]> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  assert.equal(response.status, 200, await (response.status === 200 ? '' : response.text()));
  assert.ok(response.body);
  const events: SseEvent[] = [];
  for await (const m of sseMessages(response.body)) {
    events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as SseEvent['data'] });
    if (enough(events)) break; // leaving the loop cancels the body: the client goes away
  }
  abort.abort();
  return events;
}

async function keyFor(h: AgentHarness, grants: { syscall: string; resource: string }[]): Promise<string> {
  const { key } = await h.kernel.principals.createApiKey({
    tenantId: h.principal.tenantId,
    name: 'client',
    grants,
  });
  return key;
}

/** The journaled `model.generate` results of a run, in journal order. */
async function journaledTexts(h: AgentHarness, runId: string): Promise<string[]> {
  const rows = await h.store.all<{ output: string }>(
    `SELECT output FROM orch_journal WHERE run_id = ? AND name = 'model.generate' AND status = 'ok' ORDER BY seq`,
    [runId],
  );
  return rows.map((r) => (JSON.parse(r.output) as { text: string }).text);
}

const texts = (events: SseEvent[]): string =>
  events.map((e) => (typeof e.data['text'] === 'string' ? e.data['text'] : '')).join('');

onEveryStore('run token stream', (db) => {
  it('a client receives the deltas, then done with the journaled text; a caller without runs.get is refused', async () => {
    const pieces = ['The ', 'answer ', 'is ', '42.'];
    const h = await agentHarness(db(), { provider: streamingModel(pieces), streams: true });
    const { url, server } = await serveStream(h);
    try {
      for (const d of runSyscalls(h.engine)) h.kernel.register(d);
      h.engine.register(writer);
      const reader = await keyFor(h, [{ syscall: 'runs.get', resource: '*' }]);
      const stranger = await keyFor(h, [{ syscall: 'runs.list', resource: '*' }]);
      const run = await h.engine.start('writer', { prompt: 'What is it?' }, { principal: h.principal });
      const denied = await fetch(`${url}/v1/runs/${run.id}/stream`, {
        headers: { authorization: `Bearer ${stranger}` },
      });
      assert.equal(denied.status, 403, 'no runs.get grant: no stream');
      const client = readEvents(`${url}/v1/runs/${run.id}/stream`, { authorization: `Bearer ${reader}` });
      // What `strata runs logs --follow` prints of the model output, through the same route.
      let printed = '';
      const remote = {
        url,
        call: () => Promise.reject(new Error('not used')),
        get: (path: string, headers: Record<string, string>, signal: AbortSignal) =>
          fetch(`${url}${path}`, { headers: { ...headers, authorization: `Bearer ${reader}` }, signal }),
      };
      const cli = printTokens(remote, run.id, (text) => (printed += text), AbortSignal.timeout(30_000));
      await h.worker();
      const events = await client;
      await cli;
      const done = events.at(-1);
      assert.equal(done?.event, 'done');
      const deltas = events.filter((e) => e.event === 'delta');
      assert.deepEqual(
        deltas.map((e) => e.data['text']),
        pieces,
      );
      assert.deepEqual(
        deltas.map((e) => e.id),
        ['1', '2', '3', '4'].map((n) => `2.1.${n}`),
        'keyed by (seq of model.generate, attempt 1, delta)',
      );
      assert.equal(done.data['status'], 'completed');
      assert.equal(done.data['text'], 'The answer is 42.');
      assert.deepEqual(
        await journaledTexts(h, run.id),
        [done.data['text']],
        'only the final result is journaled',
      );
      assert.equal(texts(deltas), done.data['text']);
      assert.equal(printed, done.data['text'], 'the CLI prints the tokens');
    } finally {
      server.close();
      await h.close();
    }
  });

  it('worker stopped mid-stream: the resuming attempt starts with reset; Last-Event-ID resumes without duplicates', async () => {
    const tenant = `stream-${db().dialect}`;
    const first = streamingModel(['draft ', 'one ', 'never sent'], 2);
    const a = await agentHarness(db(), { provider: first, tenant, streams: true });
    a.engine.register(writer);
    for (const d of runSyscalls(a.engine)) a.kernel.register(d);
    const key = await keyFor(a, [{ syscall: 'runs.get', resource: '*' }]);
    const run = await a.engine.start('writer', { prompt: 'Write.' }, { principal: a.principal });
    const servedA = await serveStream(a);
    const worker = await a.worker({ leaseMs: 500 });
    const auth = { authorization: `Bearer ${key}` };
    const path = `/v1/runs/${run.id}/stream`;
    const before = await readEvents(`${servedA.url}${path}`, auth, (events) => events.length === 2);
    assert.deepEqual(
      before.map((e) => [e.event, e.id, e.data['text']]),
      [
        ['delta', '2.1.1', 'draft '],
        ['delta', '2.1.2', 'one '],
      ],
    );
    await worker.stop({ abandon: true });
    servedA.server.close();
    await a.close();

    // Another process on the same database resumes the run once the lease has expired.
    const second = streamingModel(['Final ', 'text.']);
    const b = await agentHarness(db(), { provider: second, tenant, streams: true });
    const servedB = await serveStream(b);
    try {
      b.engine.register(writer);
      for (const d of runSyscalls(b.engine)) b.kernel.register(d);
      const client = readEvents(`${servedB.url}${path}`, { ...auth, 'last-event-id': before[1]?.id ?? '' });
      await b.worker();
      const after = await client;
      assert.deepEqual(
        after.map((e) => [e.event, e.id ?? null]),
        [
          ['reset', '2.2.0'],
          ['delta', '2.2.1'],
          ['delta', '2.2.2'],
          ['done', null],
        ],
        'reset first, then the new attempt; nothing already received is sent again',
      );
      const done = after.at(-1);
      assert.equal(done?.data['text'], 'Final text.');
      assert.equal(texts(after.filter((e) => e.event === 'delta')), done?.data['text']);
      assert.deepEqual(
        await journaledTexts(b, run.id),
        ['Final text.'],
        'only the final result is journaled',
      );
      assert.equal(second.calls, 1);

      // Reconnecting mid-way (after the reset) gets exactly the rest, then done.
      const again = await readEvents(`${servedB.url}${path}`, { ...auth, 'last-event-id': '2.2.0' });
      assert.deepEqual(
        again.map((e) => [e.event, e.id ?? null]),
        after.slice(1).map((e) => [e.event, e.id ?? null]),
      );
      // A malformed Last-Event-ID is a clear client error, not a stream from the start.
      const bad = await fetch(`${servedB.url}${path}`, { headers: { ...auth, 'last-event-id': 'nope' } });
      assert.notEqual(bad.status, 200);
      await bad.body?.cancel();
    } finally {
      servedB.server.close();
      await b.close();
    }
  });
});
