/**
 * `GET /v1/events` through a running server on both engines: a client that keeps disconnecting and
 * resuming with `Last-Event-ID` while two publishers write (one in slow transactions) gets every
 * matching event of its tenant exactly once, in order; a cursor the outbox was pruned past, or too
 * far behind, gets `reset`; a tenant sees only its own events; a disconnect unsubscribes; malformed
 * cursors and topics are E_INVALID_INPUT, a key without the grant E_CAPABILITY_DENIED.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sseMessages, type SseMessage } from '../src/cli/sse.ts';
import { configSchema } from '../src/kernel/index.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';
import { startServer, type ServerHandle } from '../src/server/server.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';

const ITERATIONS = 40;

/** Opens `/v1/events` and returns its messages; the caller aborts `signal` to disconnect. */
async function open(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<AsyncIterator<SseMessage>> {
  const res = await fetch(url, { headers, signal });
  assert.equal(res.status, 200, res.status === 200 ? '' : await res.text());
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  return sseMessages(res.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
}

async function next(messages: AsyncIterator<SseMessage>): Promise<SseMessage> {
  const result = await messages.next();
  if (result.done === true) assert.fail('the stream ended early');
  return result.value;
}

const seqOf = (m: SseMessage): number => (JSON.parse(m.data) as { seq: number }).seq;

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  void describe(`GET /v1/events on ${dialect}`, () => {
    let runtime: Runtime;
    let server: ServerHandle;
    let dataDir: string;
    let dropDb: (() => Promise<void>) | undefined;
    let tenantA = '';
    let tenantB = '';
    let authA: Record<string, string>;
    let authB: Record<string, string>;
    let events = '';
    /** Bus handlers of the runtime itself, before any stream opened. */
    let idleHandlers = 0;
    const publish = (tenantId: string, topic: string, payload: unknown = null): Promise<number> =>
      runtime.kernel.events.publish(runtime.kernel.store, { topic, tenantId, payload });

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'strata-events-'));
      const db = dialect === 'postgres' ? await createTestDatabase() : undefined;
      dropDb = db?.drop;
      runtime = await openRuntime({ config: configSchema.parse({ dataDir, databaseUrl: db?.url }) });
      const { principals } = runtime.kernel;
      const grants = [{ syscall: 'kernel.events.read', resource: '*' }];
      tenantA = (await principals.createTenant('a')).id;
      tenantB = (await principals.createTenant('b')).id;
      authA = {
        authorization: `Bearer ${(await principals.createApiKey({ tenantId: tenantA, name: 'k', grants })).key}`,
      };
      authB = {
        authorization: `Bearer ${(await principals.createApiKey({ tenantId: tenantB, name: 'k', grants })).key}`,
      };
      idleHandlers = runtime.kernel.events.handlerCount;
      server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
      events = `${server.url}/v1/events`;
    });
    after(async () => {
      await server.close();
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('resumes with Last-Event-ID while publishers write: no event lost, none twice', async () => {
      const published: number[] = [];
      let publishing = true;
      // One publisher in autocommit, one in transactions that stay open a while after their insert:
      // on PostgreSQL, without per-tenant ordering, a later seq would become visible first.
      const fast = (async () => {
        for (let i = 0; publishing; i++) {
          const topic = i % 3 === 0 ? 'mail:noise' : 'run:step:completed';
          const seq = await publish(tenantA, topic, { i });
          if (topic.startsWith('run:')) published.push(seq);
          if (i % 4 === 0) await publish(tenantB, 'run:step:completed', { other: true });
          await sleep(1);
        }
      })();
      const slow = (async () => {
        while (publishing) {
          const seq = await runtime.kernel.store.transaction(async (tx) => {
            const s = await runtime.kernel.events.publish(tx, {
              topic: 'run:slow',
              tenantId: tenantA,
              payload: null,
            });
            // Open longer than a dispatch tick (100 ms): streams read the fast publisher's later
            // seqs meanwhile (unless the tenant lock holds them back until this commits).
            await sleep(150);
            return s;
          });
          published.push(seq);
          await sleep(50);
        }
      })();
      const received: number[] = [];
      let last: string | undefined;
      let start = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const controller = new AbortController();
        const cursor: Record<string, string> = last === undefined ? {} : { 'last-event-id': last };
        const messages = await open(`${events}?topics=run:*`, { ...authA, ...cursor }, controller.signal);
        for (let take = 1 + (i % 4); take > 0;) {
          const m = await next(messages);
          assert.notEqual(m.event, 'reset', 'a short gap is replayed, not reset');
          if (m.id !== undefined) last = m.id;
          if (m.event === 'ready') start = seqOf(m);
          if (m.event !== 'message') continue;
          const event = JSON.parse(m.data) as { seq: number; topic: string };
          assert.match(event.topic, /^run:/);
          assert.equal(String(event.seq), m.id);
          received.push(event.seq);
          take--;
        }
        controller.abort();
        await messages.return?.().catch(() => undefined);
      }
      publishing = false;
      await Promise.all([fast, slow]);
      const expected = published.filter((s) => s > start).sort((a, b) => a - b);
      const controller = new AbortController();
      const messages = await open(
        `${events}?topics=run:*`,
        { ...authA, 'last-event-id': last ?? '' },
        controller.signal,
      );
      while (received.at(-1) !== expected.at(-1)) {
        const m = await next(messages);
        if (m.event === 'message') received.push(seqOf(m));
      }
      controller.abort();
      assert.ok(expected.length > ITERATIONS * 2, `published ${expected.length}`);
      assert.equal(new Set(received).size, received.length, 'no event twice');
      assert.deepEqual(received, expected, 'every event of tenant A under run:*, in seq order');
    });

    it('delivers a live event within the dispatch tick, and a burst in one write', async () => {
      await runtime.kernel.events.recover(); // what earlier tests left undispatched
      const controller = new AbortController();
      const res = await fetch(`${events}?topics=run:burst:*`, { headers: authA, signal: controller.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const read = async (): Promise<string> => decoder.decode((await reader.read()).value);
      assert.match(await read(), /event: ready/);
      await until(() => runtime.kernel.events.handlerCount > idleHandlers, 'subscribed');
      const sent = Date.now();
      await runtime.kernel.store.transaction(async (tx) => {
        for (let i = 0; i < 50; i++)
          await runtime.kernel.events.publish(tx, {
            topic: 'run:burst:x',
            tenantId: tenantA,
            payload: { i },
          });
      });
      const chunk = await read();
      const took = Date.now() - sent;
      controller.abort();
      assert.equal(chunk.match(/^id: /gm)?.length, 50, 'the 50 events of the burst in one chunk');
      assert.ok(took < 1500, `woken by the bus, not the 2 s poll (${took} ms)`);
    });

    it('sends reset when the outbox was pruned past the cursor or too many events wait', async () => {
      const old = await publish(tenantA, 'run:old');
      await publish(tenantA, 'run:old');
      const kept = await publish(tenantA, 'run:kept');
      await runtime.kernel.store.run('DELETE FROM kernel_outbox WHERE seq < ?', [kept]); // a retention job
      let controller = new AbortController();
      let m = await next(await open(`${events}?since=${old}`, authA, controller.signal));
      controller.abort();
      assert.equal(m.event, 'reset');
      assert.equal(m.id, String(kept), 'reset carries the tenant’s latest seq as its id');
      assert.equal(seqOf(m), kept);

      const before = await publish(tenantA, 'run:burst');
      await runtime.kernel.store.transaction(async (tx) => {
        for (let i = 0; i < 501; i++)
          await runtime.kernel.events.publish(tx, { topic: 'run:burst', tenantId: tenantA, payload: { i } });
      });
      controller = new AbortController();
      m = await next(await open(`${events}?since=${before}`, authA, controller.signal));
      controller.abort();
      assert.equal(m.event, 'reset', 'more than the bounded backlog (500) waiting');
      // Within the bound it is replayed: 500 events after the cursor.
      controller = new AbortController();
      m = await next(await open(`${events}?since=${before + 1}`, authA, controller.signal));
      controller.abort();
      assert.equal(m.event, 'message');
      assert.equal(seqOf(m), before + 2);
    });

    it('shows a tenant only its own events', async () => {
      const controller = new AbortController();
      const messages = await open(`${events}?since=0`, authB, controller.signal);
      // since=0 may be pruned by the test above: a reset is fine, then live events follow.
      await publish(tenantA, 'run:secret', { a: 1 });
      const mine = await publish(tenantB, 'run:mine');
      for (;;) {
        const m = await next(messages);
        if (m.event !== 'message') continue;
        const event = JSON.parse(m.data) as { seq: number; topic: string };
        assert.notEqual(event.topic, 'run:secret');
        if (event.seq === mine) break;
      }
      controller.abort();
    });

    it('unsubscribes from the bus when the client goes away; streams on the same feed share one handler', async () => {
      // Streams of earlier tests were aborted; the server lets go of them asynchronously.
      await until(() => runtime.kernel.events.handlerCount === idleHandlers, 'earlier streams are gone');
      const handlers = idleHandlers;
      const controllers = [1, 2, 3].map(() => new AbortController());
      const streams: AsyncIterator<SseMessage>[] = [];
      for (const c of controllers) {
        streams.push(await open(events, authA, c.signal));
        await next(streams.at(-1) as AsyncIterator<SseMessage>); // `ready`
      }
      assert.equal(runtime.kernel.events.handlerCount, handlers + 1, 'tenant A on all topics: one feed');
      const others = [new AbortController(), new AbortController()];
      await next(await open(`${events}?topics=run:*`, authA, (others[0] as AbortController).signal));
      await next(await open(events, authB, (others[1] as AbortController).signal));
      assert.equal(runtime.kernel.events.handlerCount, handlers + 3, 'other topics, other tenant: own feeds');
      for (const c of controllers.slice(0, 2)) c.abort();
      await sleep(200);
      assert.equal(runtime.kernel.events.handlerCount, handlers + 3, 'held while a stream still follows it');
      // The stream left on the shared feed still gets what is published, woken by the bus.
      const seq = await publish(tenantA, 'run:after-the-others-left');
      const m = await next(streams[2] as AsyncIterator<SseMessage>);
      assert.equal(seqOf(m), seq);
      for (const c of [...controllers, ...others]) c.abort();
      await until(() => runtime.kernel.events.handlerCount === handlers, 'the handlers are gone');
    });

    it('refuses bad cursors and topics with E_INVALID_INPUT, no grant with E_CAPABILITY_DENIED', async () => {
      const cases = [
        `${events}?since=-1`,
        `${events}?since=abc`,
        `${events}?since=1.5`,
        `${events}?topics=RUN:*`,
        `${events}?topics=run:**`,
        `${events}?topics=run::step`,
        `${events}?topics=run:*,`,
      ];
      for (const url of cases) {
        const res = await fetch(url, { headers: authA });
        assert.equal(res.status, 400, url);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_INVALID_INPUT', url);
      }
      const header = await fetch(events, { headers: { ...authA, 'last-event-id': 'x1' } });
      assert.equal(header.status, 400);
      assert.equal((await fetch(events)).status, 401);
      const { key } = await runtime.kernel.principals.createApiKey({
        tenantId: tenantA,
        name: 'no-events',
        grants: [{ syscall: 'kernel.echo', resource: '*' }],
      });
      const handlers = runtime.kernel.events.handlerCount;
      const denied = await fetch(events, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(denied.status, 403);
      assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'E_CAPABILITY_DENIED');
      assert.equal(runtime.kernel.events.handlerCount, handlers, 'a refused stream leaves no handler');
    });
  });
}
