// Group-committed journal writes and starts on PostgreSQL keep the fence: in one batch, entries of
// runs this worker leases are written, an entry of a run whose lease went to another worker is not
// (and resolves false, which the executor turns into LeaseLost); batched starts keep idempotency.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { Principal, Store } from '../kernel/index.ts';
import { freshDatabase } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { Engine } from './engine.ts';
import { JournalBatcher } from './journal-batcher.ts';

const principal: Principal = { tenantId: 'ten_jb', id: 'key_jb', kind: 'api_key', grants: [] };
const one = defineWorkflow({ name: 'one', version: 1, input: z.number(), output: z.null() }, () =>
  Promise.resolve(null),
);

const entry = (runId: string, seq: number) => ({
  run_id: runId,
  seq,
  kind: 'step' as const,
  name: `s${seq}`,
  status: 'ok' as const,
  output: String(seq),
  error: null,
  wake_at: null,
  attempts: 1,
  started_at: 1,
  finished_at: 2,
});

void describe('journal group commit on postgres', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let store: Store;
  let engine: Engine;
  before(async () => {
    db = await freshDatabase('postgres');
    store = await db.open();
    engine = await Engine.open({ store });
    engine.register(one);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('writes for leased runs only, in one batch', async () => {
    const runs = await Promise.all([1, 2, 3].map((n) => engine.start('one', n, { principal })));
    const [mine, also, lost] = runs.map((r) => r.id) as [string, string, string];
    await store.run(
      `UPDATE orch_runs SET status = 'running', lease_owner = CASE WHEN id = ? THEN 'wrk_b' ELSE 'wrk_a' END`,
      [lost],
    );
    const batcher = new JournalBatcher(store, 'wrk_a', () => Date.now());
    const results = await Promise.all([
      batcher.write(entry(mine, 1)),
      batcher.write(entry(also, 1)),
      batcher.write(entry(mine, 2)),
      batcher.write(entry(lost, 1)),
    ]);
    assert.deepEqual(results, [true, true, true, false]);
    const rows = await store.all<{ run_id: string; seq: number }>(
      'SELECT run_id, seq FROM orch_journal ORDER BY run_id, seq',
    );
    assert.deepEqual(
      rows.map((r) => `${r.run_id === mine ? 'mine' : r.run_id === also ? 'also' : 'lost'}:${r.seq}`).sort(),
      ['also:1', 'mine:1', 'mine:2'],
    );
    // The same (run, seq) twice in one turn: written one after the other, the later one wins.
    const again = await Promise.all([
      batcher.write({ ...entry(mine, 3), output: '"first"' }),
      batcher.write({ ...entry(mine, 3), output: '"second"' }),
    ]);
    assert.deepEqual(again, [true, true]);
    const third = await store.get<{ output: string }>(
      'SELECT output FROM orch_journal WHERE run_id = ? AND seq = 3',
      [mine],
    );
    assert.equal(third?.output, '"second"');
  });

  it('batched starts keep idempotency keys, within a batch and across batches', async () => {
    const key = { principal, idempotencyKey: 'same-key' };
    const [a, b] = await Promise.all([engine.start('one', 1, key), engine.start('one', 2, key)]);
    assert.equal(a.id, b.id);
    const c = await engine.start('one', 3, key);
    assert.equal(c.id, a.id);
    const n = await store.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM orch_runs WHERE idempotency_key = 'same-key'",
    );
    assert.equal(Number(n?.n), 1);
  });
});
