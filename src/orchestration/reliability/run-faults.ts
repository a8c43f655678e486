/**
 * @module orchestration/reliability/run-faults
 * What happened to the runs whose calls failed on an injected fault, from the journal and the runs
 * table. A run journals a failed syscall step with its error's data, and an injected error's data
 * says `injected: true` and its layer (kernel/chaos/faults.ts), so each such step is followed to
 * its run:
 *
 * - the run went on and completed (its code caught the error and called again): **retry**;
 * - the run is a supervised child replaced by a newer incarnation: **restart**;
 * - the run ended otherwise (failed, cancelled): **unrecovered**;
 * - the run is still live: **pending**.
 *
 * The run engine's own retry of a whole run drops the failed journal tail, so those are read from
 * the runs instead: completed runs on attempt > 1 whose recorded error (the previous attempt's)
 * was an injected fault count as **retry** in the layer its message names. Scans are bounded to
 * the newest {@link RUN_SCAN_LIMIT} rows.
 */
import type { Store } from '../../kernel/index.ts';
import { layerOf } from '../../kernel/index.ts';
import { incarnationKey, parseIncarnationKey } from '../supervision/spec.ts';

export const RUN_SCAN_LIMIT = 10_000;
const LIVE = new Set(['queued', 'waiting', 'running', 'version_unavailable']);

export interface RunFaults {
  retry: number;
  restart: number;
  unrecovered: number;
  pending: number;
  /** Failed faulted calls linked to a run step (or a retried run). */
  linked: number;
  recoveryMs: number[];
}

export interface RunFaultTotals {
  byLayer: Map<string, RunFaults>;
  restartedRuns: number;
  restartedRunsMs: number;
  restartedRunsCostMicros: number;
  truncated: boolean;
}

const emptyRunFaults = (): RunFaults => ({
  retry: 0,
  restart: 0,
  unrecovered: 0,
  pending: 0,
  linked: 0,
  recoveryMs: [],
});

type Num = number | string | null;
type StepRow = {
  run_id: string;
  error: string;
  failed_at: Num;
  status: string;
  idempotency_key: string | null;
  created_at: Num;
  finished_at: Num;
  cost_micros: Num;
};
type Successor = { idempotency_key: string; status: string; finished_at: Num };

function scope(tenantId: string | undefined, sinceMs: number | undefined, column: string) {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (tenantId !== undefined) {
    where.push('r.tenant_id = ?');
    params.push(tenantId);
  }
  if (sinceMs !== undefined) {
    where.push(`${column} >= ?`);
    params.push(sinceMs);
  }
  return { where, params };
}

/** The next incarnation of each supervised run, by its key. */
async function successors(store: Store, keys: string[]): Promise<Map<string, Successor>> {
  const found = new Map<string, Successor>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const rows = await store.all<Successor>(
      `SELECT idempotency_key, status, finished_at FROM orch_runs
       WHERE idempotency_key IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) found.set(row.idempotency_key, row);
  }
  return found;
}

function nextKey(key: string | null): string | undefined {
  const parsed = parseIncarnationKey(key);
  return parsed && incarnationKey(parsed.supervisorRunId, parsed.incarnation + 1, parsed.childId);
}

export async function runFaults(
  store: Store,
  tenantId: string | undefined,
  sinceMs: number | undefined,
): Promise<RunFaultTotals> {
  const s = scope(tenantId, sinceMs, 'j.started_at');
  const steps = await store.all<StepRow>(
    `SELECT j.run_id, j.error, j.finished_at AS failed_at, r.status, r.idempotency_key, r.created_at,
       r.finished_at, r.cost_micros
     FROM orch_journal j JOIN orch_runs r ON r.id = j.run_id
     WHERE ${[...s.where, `j.kind = 'syscall'`, `j.status = 'error'`, `j.error LIKE '%"injected":true%'`].join(' AND ')}
     ORDER BY j.started_at DESC LIMIT ${RUN_SCAN_LIMIT + 1}`,
    s.params,
  );
  const kept = steps.slice(0, RUN_SCAN_LIMIT);
  const next = await successors(store, [
    ...new Set(kept.map((r) => nextKey(r.idempotency_key)).filter((k) => k !== undefined)),
  ]);
  const byLayer = new Map<string, RunFaults>();
  const restarted = new Map<string, StepRow>();
  for (const step of kept) {
    const data = (JSON.parse(step.error) as { data?: { layer?: string } }).data;
    const layer = data?.layer ?? 'unknown';
    const f = byLayer.get(layer) ?? emptyRunFaults();
    byLayer.set(layer, f);
    f.linked++;
    const successor = next.get(nextKey(step.idempotency_key) ?? '');
    const failedAt = Number(step.failed_at);
    if (step.status === 'completed') {
      f.retry++;
      f.recoveryMs.push(Number(step.finished_at) - failedAt);
    } else if (successor) {
      f.restart++;
      restarted.set(step.run_id, step);
      if (successor.status === 'completed') f.recoveryMs.push(Number(successor.finished_at) - failedAt);
    } else if (LIVE.has(step.status)) f.pending++;
    else f.unrecovered++;
  }

  const r = scope(tenantId, sinceMs, 'r.finished_at');
  const retried = await store.all<{ error: string }>(
    `SELECT r.error FROM orch_runs r
     WHERE ${[...r.where, `r.status = 'completed'`, 'r.attempt > 1', `r.error LIKE '%injected%'`].join(' AND ')}
     LIMIT ${RUN_SCAN_LIMIT + 1}`,
    r.params,
  );
  for (const row of retried.slice(0, RUN_SCAN_LIMIT)) {
    const message = (JSON.parse(row.error) as { message?: string }).message ?? '';
    const layer = layerOf(message.split(':', 1)[0] ?? '');
    const f = byLayer.get(layer) ?? emptyRunFaults();
    byLayer.set(layer, f);
    f.linked++;
    f.retry++;
  }

  const runs = [...restarted.values()];
  return {
    byLayer,
    restartedRuns: runs.length,
    restartedRunsMs: runs.reduce((n, run) => n + (Number(run.finished_at ?? 0) - Number(run.created_at)), 0),
    restartedRunsCostMicros: runs.reduce((n, run) => n + Number(run.cost_micros ?? 0), 0),
    truncated: steps.length > RUN_SCAN_LIMIT || retried.length > RUN_SCAN_LIMIT,
  };
}
