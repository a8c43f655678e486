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

  it('prunes events older than the retention, on its own every pruneEveryMs', async () => {
    const store = await db().open();
    const pruning = new ManualClock(1_900_000_000_000);
    const bus = await EventBus.open({ store, clock: pruning, retentionMs: 1_000, pruneEveryMs: 5_000 });
    const old = await bus.publish(store, { topic: 'run:old', tenantId: 't3', payload: null });
    await bus.dispatch();
    pruning.advance(2_000);
    const fresh = await bus.publish(store, { topic: 'run:fresh', tenantId: 't3', payload: null });
    assert.ok((await bus.prune()) >= 1);
    assert.ok(!(await bus.since(0)).some((e) => e.seq === old), 'the old event (delivered) is pruned');
    assert.deepEqual(
      (await bus.since(0)).map((e) => e.seq),
      [fresh],
    );
    // Not due yet: a publish leaves the now-old event; past pruneEveryMs a publish prunes it.
    pruning.advance(2_000);
    await bus.publish(store, { topic: 'run:next', tenantId: 't3', payload: null });
    assert.ok((await bus.since(0)).some((e) => e.seq === fresh));
    pruning.advance(5_000);
    const last = await bus.publish(store, { topic: 'run:last', tenantId: 't3', payload: null });
    for (let i = 0; (await bus.since(0)).length > 1; i++) {
      assert.ok(i < 100, 'the periodic prune did not run');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(
      (await bus.since(0)).map((e) => e.seq),
      [last],
    );
    await store.close();
  });
});
