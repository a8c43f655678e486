// Cron schedules on both engines: each fire starts exactly one run even with several workers
// polling, bad expressions are refused, and schedules are tenant-scoped.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { listSchedules, nextFire, removeSchedule, upsertSchedule } from './schedules.ts';
import { harness } from './testing.ts';

const tick = defineWorkflow(
  { name: 'tick', version: 1, input: z.object({ label: z.string() }), output: z.null() },
  () => Promise.resolve(null),
);

it('computes the next fire time in UTC', () => {
  assert.equal(nextFire('0 0 1 * *', Date.UTC(2026, 10, 30, 23, 59, 59)), Date.UTC(2026, 11, 1));
  assert.equal(nextFire('*/15 * * * * *', Date.UTC(2026, 0, 1, 0, 0, 1)), Date.UTC(2026, 0, 1, 0, 0, 15));
});

onEveryStore('cron schedules', (db) => {
  it('fires once per tick with three workers competing', async () => {
    const h = await harness(db());
    h.engine.register(tick);
    await Promise.all([h.worker({ pollMs: 50 }), h.worker({ pollMs: 50 }), h.worker({ pollMs: 50 })]);
    await upsertSchedule(h.engine, {
      name: 'every-second',
      workflow: 'tick',
      input: { label: 'x' },
      cron: '* * * * * *',
      principal: h.principal,
    });
    await new Promise((r) => setTimeout(r, 3_200));
    const runs = await h.engine.list(h.principal.tenantId, { workflow: 'tick' });
    assert.ok(runs.length >= 2 && runs.length <= 4, `expected 2–4 fires in 3.2 s, got ${runs.length}`);
    const keys = runs.map((r) => r.idempotencyKey);
    assert.equal(new Set(keys).size, keys.length, 'each fire started once');
    assert.ok(keys.every((k) => k?.startsWith('cron:')));
    await removeSchedule(h.engine, h.principal.tenantId, 'every-second');
    assert.deepEqual(await listSchedules(h.engine, h.principal.tenantId), []);
    await h.close();
  });

  it('refuses a bad expression, bad input and an unknown schedule, changing nothing', async () => {
    const h = await harness(db());
    h.engine.register(tick);
    const spec = { name: 's', workflow: 'tick', input: { label: 'x' }, principal: h.principal };
    await assert.rejects(
      upsertSchedule(h.engine, { ...spec, cron: 'every tuesday' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      upsertSchedule(h.engine, { ...spec, input: { label: 1 }, cron: '* * * * *' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      upsertSchedule(h.engine, { ...spec, workflow: 'nope', cron: '* * * * *' }),
      withCode('E_UNKNOWN_WORKFLOW'),
    );
    await assert.rejects(removeSchedule(h.engine, h.principal.tenantId, 'missing'), withCode('E_NOT_FOUND'));
    assert.deepEqual(await listSchedules(h.engine, h.principal.tenantId), []);
    await h.close();
  });
});
