// SharedFeeds on a real runtime (SQLite): streams of one tenant on the same topics share one bus
// handler and a read that started after they woke; a read that started before a stream woke is not
// handed to it (it could miss the event that woke it); other tenants and topics get feeds of their own.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SharedFeeds } from './shared-feed.ts';
import { openTestEnv, type ServerTestEnv } from './testing.ts';

let env: ServerTestEnv;
before(async () => {
  env = await openTestEnv();
});
after(() => env.close());

const publish = (tenantId: string, topic: string, payload: unknown = null): Promise<number> =>
  env.kernel.events.publish(env.kernel.store, { topic, tenantId, payload });

it('shares one bus handler per tenant and topics, and pokes each member for a matching event', async () => {
  const { kernel } = env;
  const feeds = new SharedFeeds(kernel, 100);
  const { tenantId } = await env.tenant();
  const other = (await env.tenant()).tenantId;
  const handlers = kernel.events.handlerCount;
  const pokes = { a: 0, b: 0, mail: 0, other: 0 };
  const a = feeds.join(tenantId, ['run:*'], () => pokes.a++);
  const b = feeds.join(tenantId, ['run:*'], () => pokes.b++);
  const mail = feeds.join(tenantId, ['mail:*'], () => pokes.mail++);
  const elsewhere = feeds.join(other, ['run:*'], () => pokes.other++);
  assert.equal(kernel.events.handlerCount, handlers + 3);

  await publish(tenantId, 'run:changed', { id: 'r1' });
  while ((await kernel.events.dispatch()) > 0);
  assert.deepEqual(pokes, { a: 1, b: 1, mail: 0, other: 0 });

  a.leave();
  a.leave(); // twice is harmless
  assert.equal(kernel.events.handlerCount, handlers + 3, 'b still follows the run:* feed');
  for (const m of [b, mail, elsewhere]) m.leave();
  assert.equal(kernel.events.handlerCount, handlers, 'the last member took the handler with it');
});

it('hands a member a read that started after it woke, and reads anew for one that woke later', async () => {
  const feeds = new SharedFeeds(env.kernel, 100);
  const { tenantId } = await env.tenant();
  const cursor = await publish(tenantId, 'run:first');
  const a = feeds.join(tenantId, ['run:*'], () => undefined);
  const b = feeds.join(tenantId, ['run:*'], () => undefined);

  const woke = performance.now();
  const seq = await publish(tenantId, 'run:changed', { n: 1 });
  const first = await a.read(cursor, woke);
  const shared = await b.read(cursor, woke);
  assert.equal(shared, first, 'b woke before a read: the same page, read once');
  assert.deepEqual(
    first.events.map((e) => e.seq),
    [seq],
  );
  assert.match(first.text, new RegExp(`^id: ${seq}\\ndata: \\{"seq":${seq},"topic":"run:changed"`));

  // b is woken by a later event: a's read started before that and may not include it.
  const later = await publish(tenantId, 'run:changed', { n: 2 });
  const fresh = await b.read(cursor, performance.now());
  assert.notEqual(fresh, first);
  assert.deepEqual(
    fresh.events.map((e) => e.seq),
    [seq, later],
  );
  // Other cursors are other reads.
  const tail = await a.read(seq, woke);
  assert.deepEqual(
    tail.events.map((e) => e.seq),
    [later],
  );
  a.leave();
  b.leave();
});
