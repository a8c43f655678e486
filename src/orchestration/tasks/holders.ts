/**
 * @module orchestration/tasks/holders
 * Who may act on a task. A holder is (run, incarnation): the incarnation counts the run's
 * executions, 1 plus the lease takeovers recorded for it (takeovers.ts), so it grows each time the
 * worker executing the run dies and another resumes it.
 *
 * A caller is live when its run still exists in the tenant, the worker executing the call (the
 * execution scope) still holds the run's lease, and, for a supervised child, no restart replaced
 * it; otherwise E_STALE_INCARNATION. A holder is dead when its run ended, its lease expired, it was
 * taken over since it claimed (a newer incarnation), or a supervisor replaced it: its task may then
 * be claimed by another run.
 */
import { isStrataError, StrataError, type Queryable } from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import { currentExecution } from '../execution-scope.ts';
import { TERMINAL, type RunStatus } from '../run-row.ts';
import { parseIncarnationKey } from '../supervision/spec.ts';
import { assertCurrentIncarnation } from '../supervision/tree.ts';

export interface Holder {
  readonly runId: string;
  readonly incarnation: number;
}

type HolderRun = {
  status: RunStatus;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
  idempotency_key: string | null;
};

async function holderRun(q: Queryable, tenantId: string, runId: string): Promise<HolderRun | undefined> {
  return q.get<HolderRun>(
    'SELECT status, lease_owner, lease_expires_at, idempotency_key FROM orch_runs WHERE id = ? AND tenant_id = ?',
    [runId, tenantId],
  );
}

/** 1 + the takeovers of the run by another worker (a worker re-claiming its own lease is no death). */
export async function leaseIncarnation(q: Queryable, runId: string): Promise<number> {
  const row = await q.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM orch_lease_takeovers WHERE run_id = ? AND (prev_owner IS NULL OR prev_owner <> new_owner)',
    [runId],
  );
  return 1 + Number(row?.n ?? 0);
}

async function superseded(engine: Engine, tenantId: string, runId: string): Promise<boolean> {
  try {
    await assertCurrentIncarnation(engine, tenantId, runId);
    return false;
  } catch (error) {
    if (isStrataError(error) && error.code === 'E_STALE_INCARNATION') return true;
    throw error;
  }
}

/** The calling run as a holder, or E_STALE_INCARNATION if the call comes from a replaced execution. */
export async function liveCaller(
  engine: Engine,
  tenantId: string,
  runId: string | undefined,
): Promise<Holder> {
  if (runId === undefined)
    throw new StrataError(
      'E_INVALID_INPUT',
      'task claims are made by runs: call fleet.task.claim/release/complete from a workflow (ctx.syscall)',
    );
  const run = await holderRun(engine.store, tenantId, runId);
  if (!run) throw new StrataError('E_NOT_FOUND', `no run ${runId.slice(0, 60)} in this tenant`);
  const execution = currentExecution(runId);
  if (execution && (run.status !== 'running' || run.lease_owner !== execution.workerId))
    throw new StrataError(
      'E_STALE_INCARNATION',
      `run ${runId} is no longer executed by worker ${execution.workerId}: its lease was taken over; this execution must stop`,
      { runId, worker: execution.workerId, leaseOwner: run.lease_owner, status: run.status },
    );
  if (parseIncarnationKey(run.idempotency_key)) await assertCurrentIncarnation(engine, tenantId, runId);
  return { runId, incarnation: await leaseIncarnation(engine.store, runId) };
}

/** Whether a task's holder may keep it (see the module comment for when it is dead). */
export async function holderAlive(
  engine: Engine,
  tenantId: string,
  holder: Holder,
  now: number,
): Promise<boolean> {
  const run = await holderRun(engine.store, tenantId, holder.runId);
  if (!run || TERMINAL.has(run.status)) return false;
  if (run.status === 'running' && Number(run.lease_expires_at) < now) return false;
  if ((await leaseIncarnation(engine.store, holder.runId)) > holder.incarnation) return false;
  if (parseIncarnationKey(run.idempotency_key) && (await superseded(engine, tenantId, holder.runId)))
    return false;
  return true;
}
