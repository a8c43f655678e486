/**
 * @module orchestration/fleet-snapshot/runs
 * The run figures of a fleet snapshot: runs by status, completions and failures per second over
 * the last minute, live agents by state, queue depths per workflow, and runs needing attention.
 *
 * Counts by status and live runs read `orch_runs` by tenant: with a (tenant_id, status, …) index
 * (the run listing's, in progress) the count is an index-only GROUP BY and live runs (queued,
 * running, waiting, parked) a seek that never reads finished ones; without it, one pass over the
 * tenant's runs (orch_runs_tenant). The last minute's completions and failures need a time range:
 * this module's own migration layer adds a partial index of finished runs by (tenant_id,
 * finished_at) the first time a snapshot is taken (as problems/ adds its parked-runs index).
 * Partial, so only the write that finishes a run touches it.
 */
import type { Migration, Store } from '../../kernel/index.ts';
import { ensureLayers as ensureFleetLayers } from '../fleet-report.ts';
import { budgetPauseMigrations, BUDGET_PAUSES_LAYER } from '../budget-pause/migrations.ts';
import { stalledRuns } from '../problems/sources.ts';
import type { RunStatus } from '../run-row.ts';
import { runStatusSchema } from '../timeline.ts';
import { SNAPSHOT_WINDOW_MS, TOP_QUEUES, type FleetSnapshot } from './types.ts';

/** Written exactly like this in the index and in the query, so both engines match the partial index. */
const FINISHED = "status IN ('completed', 'failed')";

export const FLEET_SNAPSHOT_LAYER = 'orchestration.fleet_snapshot';

export const fleetSnapshotMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'finished runs by time',
    up: `CREATE INDEX orch_runs_finished ON orch_runs (tenant_id, finished_at) WHERE ${FINISHED};`,
  },
];

const STATUSES: readonly RunStatus[] = runStatusSchema.options;
const LIVE = "('queued', 'running', 'waiting', 'version_unavailable')";
/** Counts of attention items stop here (each is a bounded query). */
const ATTENTION_LIMIT = 1000;

const migrated = new WeakSet<Store>();

export async function ensureSnapshotLayers(store: Store): Promise<void> {
  if (migrated.has(store)) return;
  await ensureFleetLayers(store); // stalls (and escalations, approvals)
  await store.migrate(BUDGET_PAUSES_LAYER, budgetPauseMigrations);
  await store.migrate(FLEET_SNAPSHOT_LAYER, fleetSnapshotMigrations);
  migrated.add(store);
}

type Counted = { status: string; n: number | string };

export async function runsByStatus(store: Store, tenantId: string): Promise<FleetSnapshot['runs']> {
  const rows = await store.all<Counted>(
    'SELECT status, COUNT(*) AS n FROM orch_runs WHERE tenant_id = ? GROUP BY status',
    [tenantId],
  );
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const row of rows) if (row.status in byStatus) byStatus[row.status as RunStatus] = Number(row.n);
  return { byStatus, total: rows.reduce((sum, r) => sum + Number(r.n), 0) };
}

/** Completed and failed runs per second of the window ending at `now` (the current second included). */
export async function throughput(
  store: Store,
  tenantId: string,
  now: number,
): Promise<FleetSnapshot['throughput']> {
  const lastSecond = Math.floor(now / 1000);
  const firstSecond = lastSecond - SNAPSHOT_WINDOW_MS / 1000 + 1;
  // Integer division on both engines (finished_at is an integer column).
  const rows = await store.all<Counted & { sec: number | string }>(
    `SELECT status, finished_at / 1000 AS sec, COUNT(*) AS n FROM orch_runs
     WHERE tenant_id = ? AND ${FINISHED} AND finished_at >= ?
     GROUP BY status, finished_at / 1000`,
    [tenantId, firstSecond * 1000],
  );
  const perSecond = Array.from({ length: lastSecond - firstSecond + 1 }, (_, i) => ({
    at: (firstSecond + i) * 1000,
    completed: 0,
    failed: 0,
  }));
  for (const row of rows) {
    const bucket = perSecond[Number(row.sec) - firstSecond];
    if (!bucket) continue; // finished "in the future" (another machine's clock)
    if (row.status === 'completed') bucket.completed += Number(row.n);
    else bucket.failed += Number(row.n);
  }
  const completed = perSecond.reduce((sum, b) => sum + b.completed, 0);
  const failed = perSecond.reduce((sum, b) => sum + b.failed, 0);
  const seconds = SNAPSHOT_WINDOW_MS / 1000;
  return {
    windowMs: SNAPSHOT_WINDOW_MS,
    completed,
    failed,
    completedPerSec: completed / seconds,
    failedPerSec: failed / seconds,
    perSecond,
  };
}

/** Live supervised children by status. */
export async function agentsByState(store: Store, tenantId: string): Promise<FleetSnapshot['agents']> {
  const rows = await store.all<Counted>(
    `SELECT status, COUNT(*) AS n FROM orch_runs
     WHERE tenant_id = ? AND status IN ${LIVE} AND idempotency_key LIKE 'sup:%' GROUP BY status`,
    [tenantId],
  );
  const byState = { queued: 0, running: 0, waiting: 0, version_unavailable: 0 };
  for (const row of rows)
    if (row.status in byState) byState[row.status as keyof typeof byState] = Number(row.n);
  return { byState, total: rows.reduce((sum, r) => sum + Number(r.n), 0) };
}

export async function queueDepths(store: Store, tenantId: string): Promise<FleetSnapshot['queues']> {
  const rows = await store.all<{ workflow: string; n: number | string; oldest: number | string }>(
    `SELECT workflow, COUNT(*) AS n, MIN(created_at) AS oldest FROM orch_runs
     WHERE tenant_id = ? AND status = 'queued' GROUP BY workflow ORDER BY COUNT(*) DESC, workflow`,
    [tenantId],
  );
  return {
    queued: rows.reduce((sum, r) => sum + Number(r.n), 0),
    byWorkflow: rows
      .slice(0, TOP_QUEUES)
      .map((r) => ({ workflow: r.workflow, queued: Number(r.n), oldestAt: Number(r.oldest) })),
  };
}

/** Runs stalled (as the needs-you list sees them) and runs waiting in an open budget pause. */
export async function attention(
  store: Store,
  tenantId: string,
  now: number,
): Promise<FleetSnapshot['attention']> {
  const stalled = await stalledRuns({ store, tenantId, now, limit: ATTENTION_LIMIT });
  const paused = await store.get<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM orch_budget_paused_runs r
       JOIN orch_budget_pauses p ON p.id = r.pause_id
       WHERE p.tenant_id = ? AND p.status = 'paused' LIMIT ?) AS paused`,
    [tenantId, ATTENTION_LIMIT],
  );
  const budgetPaused = Number(paused?.n ?? 0);
  return {
    stalled: stalled.items.length,
    budgetPaused,
    truncated: stalled.full || budgetPaused >= ATTENTION_LIMIT,
  };
}
