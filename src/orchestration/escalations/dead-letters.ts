/**
 * Runs that end `failed` after their last attempt (dead-lettered) raise a P2 escalation, one open
 * item per (tenant, workflow) with a count, so a workflow failing a thousand times is one item.
 *
 * Why a sweep over `orch_runs` rather than a hook in the executor: the failure is already durable
 * in the run row, so reading it after the fact loses nothing on a crash and needs no change to the
 * engine. A cursor (finished_at, id) remembers how far the sweep got; it is advanced with a
 * compare-and-set in the same transaction as the raises, so two sweeping processes never count a
 * run twice (the loser's transaction is rolled back).
 */
import type { Store } from '../../kernel/index.ts';
import { raiseEscalation } from './escalations.ts';
import { startDeadLetterCursor } from './migrations.ts';

const CURSOR = 'dead-letters';
const BATCH = 500;

interface FailedRun {
  readonly [column: string]: unknown;
  id: string;
  tenant_id: string;
  workflow: string;
  error: string | null;
  finished_at: number | string;
}

class CursorMoved extends Error {}

/** Raises escalations for runs dead-lettered since the last sweep; returns how many it counted. */
export async function raiseForDeadLetters(store: Store, now: number): Promise<number> {
  try {
    return await store.transaction(async (tx) => {
      await startDeadLetterCursor(tx, now);
      const cursor = await tx.get<{ at: number | string; last_id: string }>(
        'SELECT at, last_id FROM orch_escalation_cursors WHERE name = ?',
        [CURSOR],
      );
      const at = Number(cursor?.at ?? now);
      const lastId = cursor?.last_id ?? '';
      const runs = await tx.all<FailedRun>(
        `SELECT id, tenant_id, workflow, error, finished_at FROM orch_runs
         WHERE status = 'failed' AND (finished_at > ? OR (finished_at = ? AND id > ?))
         ORDER BY finished_at, id LIMIT ?`,
        [at, at, lastId, BATCH],
      );
      const last = runs.at(-1);
      if (!last) return 0;
      const moved = await tx.run(
        'UPDATE orch_escalation_cursors SET at = ?, last_id = ? WHERE name = ? AND at = ? AND last_id = ?',
        [Number(last.finished_at), last.id, CURSOR, at, lastId],
      );
      if (moved.changes !== 1) throw new CursorMoved();
      for (const run of runs) {
        const error =
          run.error === null ? undefined : (JSON.parse(run.error) as { code?: string; message?: string });
        await raiseEscalation(
          tx,
          run.tenant_id,
          {
            key: `run-dead-lettered:${run.workflow}`,
            severity: 'P2',
            title: `runs of ${run.workflow} failed after their last attempt`,
            detail: `last: run ${run.id}${error ? ` — ${error.code ?? ''}: ${error.message ?? ''}` : ''}`,
            source: 'runs',
          },
          now,
        );
      }
      return runs.length;
    });
  } catch (error) {
    if (error instanceof CursorMoved) return 0; // another process swept these runs
    throw error;
  }
}
