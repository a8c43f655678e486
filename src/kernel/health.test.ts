// The drivers' health board: readings of every registered reader, sorted by layer then id; a reader
// that throws reads as degraded naming its error's code (never its message); unregistering removes
// only that reader; a reading gathers findings into the worst status, every reason and the earliest
// since; recent events leave their window as time passes.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StrataError } from './errors.ts';
import { DriverHealthBoard, readingOf, RecentEvents } from './health.ts';

const driver = { id: 'x.pool', layer: 'compute', name: 'x pool' };

it('reads every reader; a throwing one is degraded with its code; unregister removes it', async () => {
  const board = new DriverHealthBoard();
  board.register({ id: 'mail.relay', layer: 'identity' }, () => [
    readingOf({ id: 'mail.relay', layer: 'identity', name: 'relay' }, [], 'sends are taken'),
  ]);
  const remove = board.register({ id: 'x.pool', layer: 'compute' }, () => {
    throw new StrataError('E_STORE', 'password=hunter2 in a connection string');
  });
  const readings = await board.read('t1', 1_000);
  assert.deepEqual(
    readings.map((r) => [r.id, r.status]),
    [
      ['x.pool', 'degraded'],
      ['mail.relay', 'healthy'],
    ],
  );
  assert.equal(readings[0]?.reason, 'its health could not be read (E_STORE)');
  assert.equal(readings[0]?.since, 1_000);
  remove();
  assert.deepEqual(
    (await board.read('t1')).map((r) => r.id),
    ['mail.relay'],
  );
});

it('a reading is the worst finding, every reason, the earliest since; healthy without findings', () => {
  assert.deepEqual(readingOf(driver, [], 'fine'), {
    ...driver,
    status: 'healthy',
    reason: 'fine',
    since: null,
  });
  const both = readingOf(
    driver,
    [
      { status: 'degraded', reason: 'slow', since: 20 },
      { status: 'unhealthy', reason: 'down', since: 30 },
    ],
    'fine',
  );
  assert.deepEqual(both, { ...driver, status: 'unhealthy', reason: 'slow; down', since: 20 });
});

it('recent events count only those within the window, bounded in memory', () => {
  const recent = new RecentEvents(1_000, 3);
  for (const at of [100, 200, 900, 950]) recent.add(at);
  assert.deepEqual(recent.within(1_000), { count: 3, first: 200 }, 'the oldest beyond max is dropped');
  assert.deepEqual(recent.within(1_201), { count: 2, first: 900 });
  assert.deepEqual(recent.within(5_000), { count: 0, first: null });
});
