// The bus dispatches on its own when what it was told of commits: never for a rolled-back
// transaction, once for a transaction however many events it published, and right after the
// commit (no timer to wait for), on both engines. Dispatches are counted through `bus.dispatch`,
// which the bus's own delivery goes through.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onEveryStore } from '../../testkit/stores.ts';
import { systemClock } from '../clock.ts';
import type { Store } from '../store/store.ts';
import { EventBus, publishEvent, type StrataEvent } from './bus.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longer than the whole retry schedule the bus used before (1 + 2 + … + 64 ms). */
const LONGER_THAN_OLD_RETRIES_MS = 150;

async function countingBus(store: Store, topic: string) {
  const bus = await EventBus.open({ store, clock: systemClock });
  await bus.recover(); // what earlier tests left
  const counts = { dispatches: 0 };
  const dispatch = bus.dispatch.bind(bus);
  bus.dispatch = (limit?: number) => (counts.dispatches++, dispatch(limit));
  const seen: StrataEvent[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  bus.subscribe(topic, (e) => {
    seen.push(e);
    if (waiting && seen.length >= waiting.n) waiting.resolve();
  });
  /** Resolves once `n` events were delivered; rejects after 5 s. */
  const delivered = (n: number): Promise<void> =>
    seen.length >= n
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${seen.length} of ${n} delivered`)), 5000);
          waiting = { n, resolve: () => (clearTimeout(timer), resolve()) };
        });
  return { bus, counts, seen, delivered };
}

onEveryStore('event bus delivery on commit', (db) => {
  it('a publish in a rolled-back transaction is never delivered and causes no dispatch', async () => {
    const store = await db().open();
    const { bus, counts, seen, delivered } = await countingBus(store, 'rb:*');
    await assert.rejects(
      store.transaction(async (tx) => {
        await bus.publish(tx, { topic: 'rb:gone', tenantId: 't1', payload: 1 });
        await tx.transaction(async (inner) => {
          await bus.publishMany(inner, [{ topic: 'rb:gone', tenantId: 't1', payload: 2 }]);
        });
        throw new Error('abort');
      }),
      /abort/,
    );
    await sleep(LONGER_THAN_OLD_RETRIES_MS);
    assert.equal(counts.dispatches, 0);
    await bus.publish(store, { topic: 'rb:kept', tenantId: 't1', payload: 3 });
    await delivered(1);
    assert.deepEqual(
      seen.map((e) => e.payload),
      [3],
    );
    assert.equal(counts.dispatches, 1, 'a publish outside a transaction: one dispatch');
    await store.close();
  });

  it('N publishes in one transaction: no dispatch while it is open, one after its commit', async () => {
    const store = await db().open();
    const { bus, counts, seen, delivered } = await countingBus(store, 'many:*');
    await store.transaction(async (tx) => {
      for (let i = 0; i < 10; i++) await bus.publish(tx, { topic: 'many:one', tenantId: 't1', payload: i });
      await bus.publishMany(
        tx,
        Array.from({ length: 10 }, (_, i) => ({
          topic: 'many:batch',
          tenantId: `t${i % 3}`,
          payload: 10 + i,
        })),
      );
      await tx.transaction(async (inner) => {
        await bus.publish(inner, { topic: 'many:inner', tenantId: 't1', payload: 20 });
      });
      await assert.rejects(
        tx.transaction(async (inner) => {
          await bus.publish(inner, { topic: 'many:undone', tenantId: 't1', payload: -1 });
          throw new Error('undo the savepoint');
        }),
      );
      await sleep(LONGER_THAN_OLD_RETRIES_MS);
      assert.equal(counts.dispatches, 0, 'nothing is dispatched before the commit');
    });
    await delivered(21);
    await sleep(20); // a second dispatch, if one were coming, has had its turn
    assert.equal(counts.dispatches, 1);
    assert.deepEqual(
      seen.map((e) => e.payload),
      Array.from({ length: 21 }, (_, i) => i),
    );
    await store.close();
  });

  it('delivers right after the commit, however long the transaction stayed open', async () => {
    const store = await db().open();
    const { bus, counts, seen, delivered } = await countingBus(store, 'late:*');
    await store.transaction(async (tx) => {
      await bus.publish(tx, { topic: 'late:event', tenantId: 't1', payload: 'published' });
      // Events written without the bus (a statement of its own, SQLite's triggers): poke(tx).
      await publishEvent(tx, { topic: 'late:event', tenantId: 't1', payload: 'poked' }, systemClock.now());
      bus.poke(tx);
      await sleep(LONGER_THAN_OLD_RETRIES_MS); // past any retry schedule: only the commit can wake it
    });
    const committedAt = performance.now();
    await delivered(2);
    const latencyMs = performance.now() - committedAt;
    // No timer: one event-loop turn and one outbox read. The bound only allows for a loaded machine.
    assert.ok(latencyMs < 1000, `delivered ${latencyMs} ms after the commit`);
    assert.deepEqual(
      seen.map((e) => e.payload),
      ['published', 'poked'],
    );
    assert.equal(counts.dispatches, 1);
    await store.close();
  });

  it('dispatches nothing while nobody is subscribed', async () => {
    const store = await db().open();
    const bus = await EventBus.open({ store, clock: systemClock });
    let dispatches = 0;
    const dispatch = bus.dispatch.bind(bus);
    bus.dispatch = (limit?: number) => (dispatches++, dispatch(limit));
    await store.transaction((tx) => bus.publish(tx, { topic: 'idle:event', tenantId: 't1', payload: null }));
    await bus.publish(store, { topic: 'idle:event', tenantId: 't1', payload: null });
    bus.poke();
    await sleep(50);
    assert.equal(dispatches, 0);
    await store.close();
  });
});
