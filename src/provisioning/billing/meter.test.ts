import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import type { MeterEvent, Meters } from './meter.ts';

const T = 'ten_meter';
const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const MIN = 60_000;
const DAY = 86_400_000;

onEveryStore('billing meters', (db) => {
  let store: Store;
  let meters: Meters;
  const clock = new ManualClock(NOW);
  const event = (over: Partial<MeterEvent> = {}): MeterEvent => ({
    id: 'e1',
    type: 'tokens',
    subject: 'agent:a1',
    resourceId: 'model/gpt',
    quantity: '10',
    unit: 'token',
    time: NOW - MIN,
    ...over,
  });

  before(async () => {
    store = await db().open();
    meters = (await Billing.open({ store, clock })).meters;
    await meters.define(T, { type: 'tokens', unit: 'token', aggregation: 'sum', description: '' });
    await meters.define(T, { type: 'db.storage', unit: 'GB', aggregation: 'time_weighted', description: '' });
  });
  after(() => store.close());

  it('dedupes by id: same payload is a no-op, another payload is E_CONFLICT and nothing is ingested', async () => {
    assert.deepEqual(await meters.ingest(T, [event()]), { accepted: 1, duplicates: 0 });
    const replays = await Promise.all(Array.from({ length: 20 }, () => meters.ingest(T, [event()])));
    for (const r of replays) assert.deepEqual(r, { accepted: 0, duplicates: 1 });
    assert.deepEqual(
      await meters.ingest(T, [event({ quantity: '10.000' })]),
      { accepted: 0, duplicates: 1 },
      'same number',
    );
    await assert.rejects(
      meters.ingest(T, [event({ id: 'e2' }), event({ quantity: '11' })]),
      withCode('E_CONFLICT'),
    );
    await assert.rejects(
      meters.ingest(T, [event({ id: 'e3' }), event({ id: 'e3', quantity: '2' })]),
      withCode('E_CONFLICT'),
    );
    const sum = await meters.aggregate(T, { type: 'tokens', from: NOW - DAY, to: NOW });
    assert.deepEqual([sum.value, sum.events], ['10', 1], 'the rejected batches left nothing');
  });

  it('refuses bad events with stable codes (whole batch refused)', async () => {
    const cases: [Partial<MeterEvent> | Record<string, unknown>, string][] = [
      [{ subject: '' }, 'E_INVALID_INPUT'],
      [{ subject: undefined }, 'E_INVALID_INPUT'],
      [{ type: 'nope' }, 'E_UNKNOWN_METER'],
      [{ quantity: '-1' }, 'E_INVALID_QUANTITY'],
      [{ quantity: 'NaN' }, 'E_INVALID_QUANTITY'],
      [{ quantity: 'Infinity' }, 'E_INVALID_QUANTITY'],
      [{ quantity: 5 }, 'E_INVALID_QUANTITY'],
      [{ quantity: '0.0000001' }, 'E_INVALID_QUANTITY'],
      [{ unit: 'GB' }, 'E_INVALID_INPUT'],
      [{ time: NOW - 35 * DAY - 1 }, 'E_METER_OUT_OF_WINDOW'],
      [{ time: NOW + 5 * MIN + 1 }, 'E_METER_OUT_OF_WINDOW'],
      [{ time: undefined }, 'E_INVALID_INPUT'],
    ];
    for (const [over, code] of cases)
      await assert.rejects(
        meters.ingest(T, [event({ id: 'good-in-bad-batch' }), event({ id: 'bad', ...over })]),
        withCode(code),
        JSON.stringify(over),
      );
    const row = await store.get('SELECT id FROM bill_meter_events WHERE id IN (?, ?)', [
      'good-in-bad-batch',
      'bad',
    ]);
    assert.equal(row, undefined);
    // The window edges themselves are accepted.
    assert.equal((await meters.ingest(T, [event({ id: 'edge-past', time: NOW - 35 * DAY })])).accepted, 1);
    assert.equal((await meters.ingest(T, [event({ id: 'edge-future', time: NOW + 5 * MIN })])).accepted, 1);
  });

  it('aggregates sum, count, max, latest and unique_count exactly', async () => {
    const from = NOW - 10 * MIN;
    await meters.ingest(T, [
      event({ id: 'a1', quantity: '0.1', time: from + 1, resourceId: 'r1' }),
      event({ id: 'a2', quantity: '0.2', time: from + 2, resourceId: 'r2' }),
      event({ id: 'a3', quantity: '7.5', time: from + 3, resourceId: 'r1', subject: 'agent:a2' }),
    ]);
    const q = { type: 'tokens', from, to: NOW - 5 * MIN };
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'sum' })).value, '7.8');
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'count' })).value, '3');
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'max' })).value, '7.5');
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'latest' })).value, '7.5');
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'unique_count' })).value, '2');
    assert.equal(
      (await meters.aggregate(T, { ...q, aggregation: 'unique_count', uniqueBy: 'subject' })).value,
      '2',
    );
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'sum', subject: 'agent:a1' })).value, '0.3');
    assert.equal((await meters.aggregate(T, { ...q, aggregation: 'sum', resourceId: 'r1' })).value, '7.6');
    await assert.rejects(meters.aggregate(T, { ...q, type: 'nope' }), withCode('E_UNKNOWN_METER'));
  });

  it('time-weighted sums give GB-seconds, carrying the level in from before the window', async () => {
    const start = NOW - 60 * MIN;
    // db1: 2 GB from before the window, 4 GB after 10 s, 0 after 20 s. db2: 1.5 GB from 30 s on.
    await meters.ingest(T, [
      {
        id: 's1',
        type: 'db.storage',
        subject: 'tenant',
        resourceId: 'db1',
        quantity: '2',
        unit: 'GB',
        time: start - 5000,
      },
      {
        id: 's2',
        type: 'db.storage',
        subject: 'tenant',
        resourceId: 'db1',
        quantity: '4',
        unit: 'GB',
        time: start + 10_000,
      },
      {
        id: 's3',
        type: 'db.storage',
        subject: 'tenant',
        resourceId: 'db1',
        quantity: '0',
        unit: 'GB',
        time: start + 20_000,
      },
      {
        id: 's4',
        type: 'db.storage',
        subject: 'tenant',
        resourceId: 'db2',
        quantity: '1.5',
        unit: 'GB',
        time: start + 30_000,
      },
    ]);
    const result = await meters.aggregate(T, { type: 'db.storage', from: start, to: start + 60_000 });
    // db1: 2×10 + 4×10 = 60; db2: 1.5×30 = 45 → 105 GB·s
    assert.deepEqual([result.aggregation, result.value, result.unit], ['time_weighted', '105', 'GB·s']);
    const partial = await meters.aggregate(T, {
      type: 'db.storage',
      from: start + 15_000,
      to: start + 15_001,
    });
    assert.equal(partial.value, '0.004', '4 GB for 1 ms');
  });

  it('refuses bad meter definitions', async () => {
    await assert.rejects(
      meters.define(T, { type: 'Bad Type', unit: 'x', aggregation: 'sum', description: '' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      meters.define(T, { type: 'tokens', unit: 'GB', aggregation: 'sum', description: '' }),
      withCode('E_CONFLICT'),
    );
    await assert.rejects(
      meters.define(T, { type: 'syscall.cost', unit: 'x', aggregation: 'sum', description: '' }),
      withCode('E_INVALID_INPUT'),
    );
  });
});
