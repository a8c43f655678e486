// The outbox's bounds as a reader sees them (head per tenant, last, floor) on both engines, and on
// SQLite read from the ends of the indexes: a scan of the outbox would cost every live dashboard
// render milliseconds on a busy fleet.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { freshDatabase, onEveryStore } from '../../testkit/stores.ts';
import { ManualClock } from '../clock.ts';
import { EventBus } from './bus.ts';
import { OUTBOX_BOUNDS_SQL, outboxBounds } from './feed.ts';

onEveryStore('outbox bounds', (db) => {
  it('are the tenant’s head, the outbox’s last and its floor (last + 1 when empty)', async () => {
    const store = await db().open();
    const clock = new ManualClock(1_800_000_000_000);
    const bus = await EventBus.open({ store, clock });
    assert.deepEqual(await outboxBounds(store, 't1'), { head: 0, last: 0, floor: 1 });
    const first = await bus.publish(store, { topic: 'run:a', tenantId: 't1', payload: null });
    clock.advance(10_000);
    const mine = await bus.publish(store, { topic: 'run:b', tenantId: 't1', payload: null });
    const theirs = await bus.publish(store, { topic: 'run:c', tenantId: 't2', payload: null });
    assert.deepEqual(await outboxBounds(store, 't1'), { head: mine, last: theirs, floor: first });
    assert.deepEqual(await outboxBounds(store, 't3'), { head: 0, last: theirs, floor: first });
    await bus.prune(clock.now() - 5_000);
    assert.deepEqual(await outboxBounds(store, 't1'), { head: mine, last: theirs, floor: mine });
    await store.close();
  });
});

it('reads the outbox bounds on SQLite without scanning the outbox', async () => {
  const db = await freshDatabase('sqlite');
  const store = await db.open();
  await EventBus.open({ store, clock: new ManualClock(0) }); // its migrations
  const plan = await store.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${OUTBOX_BOUNDS_SQL}`, ['t1']);
  const steps = plan.map((p) => p.detail);
  assert.ok(
    steps.every((s) => !/^SCAN kernel_outbox/.test(s)),
    `no step scans the outbox: ${steps.join('; ')}`,
  );
  await store.close();
  await db.drop();
});
