// Watchers: a reader that follows the outbox by seq (the live streams) is woken after each commit
// of events in this process, told their tenants and topics, never for a rolled-back transaction,
// and without a dispatch (no outbox read, no delivered-mark); events another process committed
// wake it through `checkHead`, on both engines.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onEveryStore } from '../../testkit/stores.ts';
import { systemClock } from '../clock.ts';
import { EventBus, publishEvent } from './bus.ts';

type Written = readonly { tenantId: string; topic: string }[] | undefined;

onEveryStore('event bus watchers', (db) => {
  it('wakes a watcher after the commit, with what was written, never for a rollback, without dispatching', async () => {
    const store = await db().open();
    const bus = await EventBus.open({ store, clock: systemClock });
    await bus.recover(); // what earlier tests left
    let dispatches = 0;
    const dispatch = bus.dispatch.bind(bus);
    bus.dispatch = (limit?: number) => (dispatches++, dispatch(limit));
    const woken: Written[] = [];
    const unwatch = bus.watch((written) => woken.push(written));
    assert.equal(bus.handlerCount, 1, 'a watcher counts as registered');
    let inside = -1;
    await store.transaction(async (tx) => {
      await bus.publishMany(tx, [
        { topic: 'run:changed', tenantId: 'w1', payload: { id: 'a' } },
        { topic: 'approval:requested', tenantId: 'w1', payload: null },
      ]);
      inside = woken.length;
    });
    assert.equal(inside, 0, 'not before the commit');
    assert.deepEqual(
      woken[0]?.map((e) => [e.tenantId, e.topic]),
      [
        ['w1', 'run:changed'],
        ['w1', 'approval:requested'],
      ],
    );
    await assert.rejects(
      store.transaction(async (tx) => {
        await bus.publish(tx, { topic: 'run:changed', tenantId: 'w1', payload: null });
        throw new Error('abort');
      }),
    );
    bus.poke(); // events written without the bus (a trigger): what they were is not known
    assert.deepEqual(woken.slice(1), [undefined]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(dispatches, 0, 'with only watchers, a commit reads and marks nothing');
    const undelivered = await store.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM kernel_outbox WHERE delivered_at IS NULL AND tenant_id = ?',
      ['w1'],
    );
    assert.equal(Number(undelivered?.n), 2);
    unwatch();
    assert.equal(bus.handlerCount, 0);
    await store.close();
  });

  it("wakes it on checkHead when another process's commit moved the outbox's head, once", async () => {
    const store = await db().open();
    const bus = await EventBus.open({ store, clock: systemClock });
    await bus.checkHead(); // the head as earlier tests left it
    let woken = 0;
    bus.watch(() => woken++);
    await bus.checkHead();
    assert.equal(woken, 0, 'nothing new');
    // Another process: its own connection, writing without this bus.
    const other = await db().open();
    await publishEvent(other, { topic: 'run:changed', tenantId: 'w2', payload: null }, Date.now());
    await other.close();
    await bus.checkHead();
    assert.equal(woken, 1);
    await bus.checkHead();
    assert.equal(woken, 1, 'the same head wakes nobody twice');
    await store.close();
  });
});
