/**
 * @module orchestration/supervision/child-exits
 * The store side of `ctx.nextChildExit` and `ctx.cancelChild` (used by the executor's run port).
 *
 * Taking "the next child that ended" happens in one fenced transaction that also journals what was
 * taken, so replay sees exactly the same sequence of exits. Which exits were already taken is known
 * from the journal itself (the context passes them in), not from a column: the query looks at
 * children that ended since the latest taken one, minus a skew margin (finished_at comes from the
 * clocks of several workers and commits land out of order), and skips those already taken.
 */
import type { Queryable } from '../../kernel/index.ts';
import type { RunError, RunStatus } from '../run-row.ts';
import { RUN_CHANGE_COLUMNS, type RunChangeRow } from '../run-events.ts';

/** Margin for finished_at values written out of order by workers with different clocks. */
export const EXIT_SKEW_MS = 60_000;

export type ChildEvent =
  | {
      readonly type: 'exit';
      readonly runId: string;
      readonly status: Extract<RunStatus, 'completed' | 'failed' | 'cancelled'>;
      readonly error?: RunError;
      readonly finishedAt: number;
      readonly at: number;
    }
  | { readonly type: 'signal'; readonly name: string; readonly payload: unknown; readonly at: number }
  | { readonly type: 'timeout'; readonly at: number };

export interface ChildExitQuery {
  /** Only this child's exit. */
  readonly runId?: string;
  /** Also take a signal of this name sent to the waiting run (exits are taken first). */
  readonly orSignal?: string;
  /** Ids of exits already taken that ended at or after `since - EXIT_SKEW_MS`. */
  readonly taken: readonly string[];
  /** finished_at of the latest exit taken (0 before the first). */
  readonly since: number;
}

type ExitRow = {
  id: string;
  status: 'completed' | 'failed' | 'cancelled';
  error: string | null;
  finished_at: number;
};

/** Takes the next event for `parentId` (or nothing) and journals it at `seq`, in transaction `tx`. */
export async function takeChildEvent(
  tx: Queryable,
  args: { parentId: string; seq: number; query: ChildExitQuery; now: number },
): Promise<ChildEvent | undefined> {
  const { parentId, seq, query, now } = args;
  const event = (await takeExit(tx, parentId, query, now)) ?? (await takeSignal(tx, args));
  if (!event) return undefined;
  await tx.run(
    "UPDATE orch_journal SET status = 'ok', output = ?, finished_at = ? WHERE run_id = ? AND seq = ?",
    [JSON.stringify(event), now, parentId, seq],
  );
  return event;
}

async function takeExit(
  tx: Queryable,
  parentId: string,
  query: ChildExitQuery,
  now: number,
): Promise<ChildEvent | undefined> {
  const marks = query.taken.map(() => '?').join(', ');
  const notTaken = query.taken.length > 0 ? ` AND id NOT IN (${marks})` : '';
  const only = query.runId === undefined ? '' : ' AND id = ?';
  const row = await tx.get<ExitRow>(
    `SELECT id, status, error, finished_at FROM orch_runs
     WHERE parent_id = ? AND status IN ('completed', 'failed', 'cancelled') AND finished_at >= ?${only}${notTaken}
     ORDER BY finished_at, id LIMIT 1`,
    [
      parentId,
      query.runId === undefined ? query.since - EXIT_SKEW_MS : 0,
      ...(query.runId === undefined ? [] : [query.runId]),
      ...query.taken,
    ],
  );
  if (!row) return undefined;
  return {
    type: 'exit',
    runId: row.id,
    status: row.status,
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as RunError }),
    finishedAt: Number(row.finished_at),
    at: now,
  };
}

async function takeSignal(
  tx: Queryable,
  { parentId, seq, query, now }: { parentId: string; seq: number; query: ChildExitQuery; now: number },
): Promise<ChildEvent | undefined> {
  if (query.orSignal === undefined) return undefined;
  const found = await tx.get<{ id: string; payload: string }>(
    'SELECT id, payload FROM orch_signals WHERE run_id = ? AND name = ? AND consumed_seq IS NULL ORDER BY created_at, id LIMIT 1',
    [parentId, query.orSignal],
  );
  if (!found) return undefined;
  await tx.run('UPDATE orch_signals SET consumed_seq = ? WHERE id = ?', [seq, found.id]);
  return { type: 'signal', name: query.orSignal, payload: JSON.parse(found.payload) as unknown, at: now };
}

/**
 * Ends a child the hard way (OTP's brutal_kill, after its shutdown timeout): the run is marked
 * cancelled whatever its state. A worker still executing it fails its next fenced write (the run is
 * no longer `running` under its lease) and stops without recording anything. Returns the run's row
 * if it was killed (its `run:changed` event is the caller's to publish).
 */
export function killChild(
  tx: Queryable,
  parentId: string,
  runId: string,
  now: number,
): Promise<RunChangeRow | undefined> {
  return tx.get<RunChangeRow>(
    `UPDATE orch_runs SET status = 'cancelled', cancel_requested = 1, lease_owner = NULL, lease_expires_at = NULL,
       finished_at = ?, updated_at = ?, error = ?
     WHERE id = ? AND parent_id = ? AND status NOT IN ('completed', 'failed', 'cancelled')
     RETURNING ${RUN_CHANGE_COLUMNS}`,
    [
      now,
      now,
      JSON.stringify({ code: 'E_CANCELLED', message: 'killed after its shutdown timeout' }),
      runId,
      parentId,
    ],
  );
}
