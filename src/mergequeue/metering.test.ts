// Check time billed through the billing layer: each finished check's sandbox time becomes meter
// events in equal shares per change, billed to the change's author, counted once however often a
// check is recorded (a worker that restarts), and readable per author and per change.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../kernel/clock.ts';
import { silentLogger, type Store } from '../kernel/index.ts';
import { Billing, type Meters } from '../provisioning/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import { CHECK_SECONDS_METER, CheckMetering } from './metering.ts';

const T = 'ten_mq_meter';
const NOW = Date.parse('2026-11-25T12:00:00.000Z');

onEveryStore('merge queue check metering', (db) => {
  let store: Store;
  let meters: Meters;
  const clock = new ManualClock(NOW);
  const seconds = async (query: { subject?: string; resourceId?: string }): Promise<string> =>
    (
      await meters.aggregate(T, {
        type: CHECK_SECONDS_METER.type,
        from: NOW - 60_000,
        to: NOW + 60_000,
        ...query,
      })
    ).value;

  before(async () => {
    store = await db().open();
    meters = (await Billing.open({ store, clock })).meters;
  });
  after(() => store.close());

  it('bills each check to the authors of its changes in equal shares, once per check', async () => {
    const metering = new CheckMetering(meters, silentLogger());
    const batch = {
      queue: 'app',
      check: 'mqc_1',
      entries: [
        { id: 'e1', author: 'agent-1' },
        { id: 'e2', author: 'agent-2' },
        { id: 'e3', author: 'agent-1' },
      ],
      durationMs: 9_000,
      at: NOW,
    };
    await metering.record(T, batch);
    await metering.record(T, batch); // a restarted worker finishing the same check again
    await metering.record(T, {
      ...batch,
      check: 'mqc_2',
      entries: [{ id: 'e2', author: 'agent-2' }],
      durationMs: 1_500,
    });
    assert.equal(await seconds({ subject: 'agent-1' }), '6');
    assert.equal(await seconds({ subject: 'agent-2' }), '4.5');
    assert.equal(await seconds({ resourceId: 'mq/app/e2' }), '4.5');
    assert.equal(await seconds({}), '10.5');
  });
});
