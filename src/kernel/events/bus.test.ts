// The outbox: an event exists only if its transaction committed, is delivered in order, and
// survives a crash between commit and delivery (a new bus on the same database delivers it).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onEveryStore } from '../../testkit/stores.ts';
import { ManualClock } from '../clock.ts';
import { EventBus, type StrataEvent } from './bus.ts';

onEveryStore('event bus', (db) => {
  const clock = new ManualClock(1_800_000_000_000);

  it('publishes inside a transaction: rolled back means never delivered', async () => {
    const store = await db().open();
    const bus = await EventBus.open({ store, clock });
    const seen: StrataEvent[] = [];
    bus.subscribe('token:*', (e) => void seen.push(e));
    await store.transaction(async (tx) => {
      await bus.publish(tx, { topic: 'token:revoked', tenantId: 't1', payload: { jti: 'a' } });
    });
    await assert.rejects(
      store.transaction(async (tx) => {
        await bus.publish(tx, { topic: 'token:revoked', tenantId: 't1', payload: { jti: 'b' } });
        throw new Error('abort');
      }),
    );
    await bus.publish(store, { topic: 'other:thing', tenantId: 't1', payload: null });
    await bus.dispatch();
    assert.deepEqual(
      seen.map((e) => e.payload),
      [{ jti: 'a' }],
    );
    assert.equal(await bus.dispatch(), 0, 'delivered events are not delivered again');
    await store.close();
  });

  it('delivers after a crash what was committed but not dispatched, in order', async () => {
    const first = await db().open();
    const crashed = await EventBus.open({ store: first, clock });
    await crashed.dispatch(); // drain the previous test's events
    for (const n of [1, 2, 3])
      await crashed.publish(first, { topic: 'run:step', tenantId: 't2', payload: { n } });
    await first.close(); // the process dies before dispatch
    const second = await db().open();
    const recovered = await EventBus.open({ store: second, clock });
    const seen: number[] = [];
    recovered.subscribe('run:step', (e) => void seen.push((e.payload as { n: number }).n));
    assert.equal(await recovered.recover(), 3);
    assert.deepEqual(seen, [1, 2, 3]);
    const since = await recovered.since(0);
    assert.ok(since.length >= 3);
    assert.ok(since.every((e, i) => i === 0 || e.seq > (since[i - 1] as StrataEvent).seq));
    await second.close();
  });
});
