/**
 * @module orchestration/fleet-report
 * Fleet counters (issue 12, item 5) computed from the store alone, so every process reading the
 * same database reports the same figures: syscall outcomes per layer (from the audit log, which
 * records every call), supervisor restarts (child incarnations above 1), stalls, duplicate work,
 * escalations with time to ack, approvals with time to decision, and cost per completed task.
 *
 * Duplicate work is measured as supervised children that have an older incarnation still live
 * (queued, waiting or running) while a newer one exists: two incarnations of one child doing the
 * same task at once. Incarnation keys started twice cannot happen (unique index on the runs'
 * idempotency key), so that count is structural and is not re-read here. It must be 0.
 *
 * Deaths are the lease takeovers workers record (takeovers.ts): a run whose owner stopped
 * heartbeating, claimed by another worker. Detection latency = takeover − lease expiry; "last
 * heartbeat to resume" runs from the owner's last renewal (expiry − lease) to the first journal
 * step after the takeover, an upper bound of kill to resume. A worker re-claiming its own expired
 * lease (its event loop was blocked) is counted apart as `selfReclaimed`: a lease expiry that
 * should not have happened.
 *
 * @example
 * const report = await fleetReport(store, tenantId, { sinceMs: Date.now() - 3_600_000 });
 * report.duplicateWork.total; // 0
 */
import type { Store } from '../kernel/index.ts';
import { escalationMigrations, ESCALATIONS_LAYER } from './escalations/migrations.ts';
import { approvalMigrations, APPROVALS_LAYER } from './approvals/migrations.ts';
import { parseIncarnationKey } from './supervision/spec.ts';
import { stallMigrations, STALLS_LAYER } from './supervision/stalls.ts';

export interface FleetReportOptions {
  /** Only activity at or after this time (ms since the epoch). @default all history */
  readonly sinceMs?: number;
  /** @default Date.now() */
  readonly now?: number;
}

export interface LayerSyscalls {
  readonly layer: string;
  readonly ok: number;
  readonly failed: number;
  readonly denied: number;
  /**
   * Refused for capacity (E_RATE_LIMITED, e.g. every browser slot taken) with no injected fault:
   * back-pressure the caller waits out, neither a success nor a failure of the layer.
   */
  readonly throttled: number;
}

export interface FleetReport {
  readonly tenantId: string | null;
  readonly sinceMs: number | null;
  readonly generatedAt: number;
  readonly syscalls: readonly LayerSyscalls[];
  readonly restarts: {
    readonly total: number;
    readonly bySupervisor: readonly { supervisorRunId: string; workflow: string; restarts: number }[];
  };
  readonly stalls: number;
  readonly deaths: {
    readonly detected: number;
    readonly selfReclaimed: number;
    readonly detectionLatencyMs: Quantiles | null;
    readonly heartbeatToResumeMs: Quantiles | null;
  };
  readonly duplicateWork: { readonly total: number; readonly definition: string };
  readonly escalations: {
    readonly total: number;
    readonly open: number;
    readonly acked: number;
    readonly medianTimeToAckMs: number | null;
  };
  readonly approvals: {
    readonly total: number;
    readonly pending: number;
    readonly decided: number;
    readonly timedOut: number;
    readonly medianTimeToDecisionMs: number | null;
  };
  readonly tasks: {
    readonly completed: number;
    readonly costMicros: number;
    readonly costPerCompletedTaskMicros: number | null;
    readonly reason?: string;
  };
}

export interface Quantiles {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

export const DUPLICATE_WORK_DEFINITION =
  'supervised children with an older incarnation still queued, waiting or running while a newer one exists';
const LIVE = new Set(['queued', 'waiting', 'running']);

const migrated = new WeakSet<Store>();

/** The tables read here belong to layers that may not have been opened in this process. */
export async function ensureLayers(store: Store): Promise<void> {
  if (migrated.has(store)) return;
  await store.migrate(ESCALATIONS_LAYER, escalationMigrations);
  await store.migrate(STALLS_LAYER, stallMigrations);
  await store.migrate(APPROVALS_LAYER, approvalMigrations);
  migrated.add(store);
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

export function quantiles(values: readonly number[]): Quantiles | null {
  if (values.length === 0) return null;
  return { p50: percentile(values, 50) ?? 0, p95: percentile(values, 95) ?? 0, max: Math.max(...values) };
}

/** `tenant_id = ? AND <column> >= ?`, leaving out what was not asked for. */
function scope(column: string, tenantId: string | undefined, sinceMs: number | undefined, alias = '') {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (tenantId !== undefined) {
    where.push(`${alias}tenant_id = ?`);
    params.push(tenantId);
  }
  if (sinceMs !== undefined) {
    where.push(`${alias}${column} >= ?`);
    params.push(sinceMs);
  }
  return { sql: where.length ? where.join(' AND ') : '1 = 1', params };
}

async function syscallsByLayer(store: Store, tenantId?: string, sinceMs?: number): Promise<LayerSyscalls[]> {
  const s = scope('ts', tenantId, sinceMs);
  // An injected fault is marked in the entry's detail (`"faults": [...]`, kernel/chaos): a 429 it
  // caused is a fault like any other, not back-pressure.
  const rows = await store.all<{ action: string; outcome: string; n: number | string }>(
    `SELECT action, CASE WHEN outcome = 'error' AND error_code = 'E_RATE_LIMITED' AND detail NOT LIKE '%"faults":%'
       THEN 'throttled' ELSE outcome END AS outcome, COUNT(*) AS n
     FROM kernel_audit WHERE ${s.sql} GROUP BY 1, 2`,
    s.params,
  );
  const layers = new Map<string, { ok: number; failed: number; denied: number; throttled: number }>();
  for (const row of rows) {
    const layer = row.action.split('.')[0] ?? row.action;
    const counts = layers.get(layer) ?? { ok: 0, failed: 0, denied: 0, throttled: 0 };
    const n = Number(row.n);
    if (row.outcome === 'ok') counts.ok += n;
    else if (row.outcome === 'denied') counts.denied += n;
    else if (row.outcome === 'throttled') counts.throttled += n;
    else counts.failed += n;
    layers.set(layer, counts);
  }
  return [...layers].sort(([a], [b]) => a.localeCompare(b)).map(([layer, c]) => ({ layer, ...c }));
}

type ChildRow = { parent_id: string; workflow: string; idempotency_key: string; status: string };

/** Restarts per supervisor and live stale incarnations, from the supervised children's keys. */
async function supervision(store: Store, tenantId?: string, sinceMs?: number) {
  const s = scope('created_at', tenantId, sinceMs, 'c.');
  const rows = await store.all<ChildRow>(
    `SELECT c.parent_id, p.workflow, c.idempotency_key, c.status FROM orch_runs c
       JOIN orch_runs p ON p.id = c.parent_id
     WHERE c.idempotency_key LIKE 'sup:%' AND ${s.sql}`,
    s.params,
  );
  const restarts = new Map<string, { workflow: string; restarts: number }>();
  const children = new Map<string, { latest: number; live: number[] }>();
  for (const row of rows) {
    const key = parseIncarnationKey(row.idempotency_key);
    if (!key) continue;
    const sup = restarts.get(row.parent_id) ?? { workflow: row.workflow, restarts: 0 };
    if (key.incarnation > 1) sup.restarts++;
    restarts.set(row.parent_id, sup);
    const id = `${key.supervisorRunId}\n${key.childId}`;
    const child = children.get(id) ?? { latest: 0, live: [] };
    child.latest = Math.max(child.latest, key.incarnation);
    if (LIVE.has(row.status)) child.live.push(key.incarnation);
    children.set(id, child);
  }
  let duplicates = 0;
  for (const child of children.values()) duplicates += child.live.filter((n) => n < child.latest).length;
  const bySupervisor = [...restarts]
    .filter(([, v]) => v.restarts > 0)
    .map(([supervisorRunId, v]) => ({ supervisorRunId, ...v }))
    .sort((a, b) => b.restarts - a.restarts || a.supervisorRunId.localeCompare(b.supervisorRunId));
  return { bySupervisor, total: bySupervisor.reduce((n, v) => n + v.restarts, 0), duplicates };
}

type TakeoverRow = {
  prev_owner: string | null;
  new_owner: string;
  lease_expired_at: number | string;
  taken_at: number | string;
  lease_ms: number | string;
  resumed_at: number | string | null;
};

/** Deaths from the latest 10,000 takeovers in scope, with the first step each resumed run made. */
async function deaths(store: Store, tenantId?: string, sinceMs?: number) {
  const s = scope('taken_at', tenantId, sinceMs, 't.');
  const rows = await store.all<TakeoverRow>(
    `SELECT t.prev_owner, t.new_owner, t.lease_expired_at, t.taken_at, t.lease_ms,
       (SELECT MIN(COALESCE(j.finished_at, j.started_at)) FROM orch_journal j
         WHERE j.run_id = t.run_id AND j.started_at >= t.taken_at) AS resumed_at
     FROM orch_lease_takeovers t WHERE ${s.sql} ORDER BY t.taken_at DESC LIMIT 10000`,
    s.params,
  );
  const died = rows.filter((r) => r.prev_owner !== r.new_owner);
  const resumed = died.filter((r) => r.resumed_at !== null);
  return {
    detected: died.length,
    selfReclaimed: rows.length - died.length,
    detectionLatencyMs: quantiles(died.map((r) => Number(r.taken_at) - Number(r.lease_expired_at))),
    heartbeatToResumeMs: quantiles(
      resumed.map((r) => Number(r.resumed_at) - (Number(r.lease_expired_at) - Number(r.lease_ms))),
    ),
  };
}

async function count(store: Store, sql: string, params: readonly (string | number)[]): Promise<number> {
  const row = await store.get<{ n: number | string | null }>(sql, params);
  return Number(row?.n ?? 0);
}

async function escalations(store: Store, tenantId?: string, sinceMs?: number) {
  const s = scope('first_at', tenantId, sinceMs);
  const rows = await store.all<{ status: string; first_at: number; acked_at: number | null }>(
    `SELECT status, first_at, acked_at FROM orch_escalations WHERE ${s.sql}`,
    s.params,
  );
  const acked = rows.filter((r) => r.acked_at !== null);
  return {
    total: rows.length,
    open: rows.filter((r) => r.status === 'open').length,
    acked: acked.length,
    medianTimeToAckMs: median(acked.map((r) => Number(r.acked_at) - Number(r.first_at))),
  };
}

async function approvals(store: Store, tenantId?: string, sinceMs?: number) {
  const s = scope('created_at', tenantId, sinceMs);
  const rows = await store.all<{
    status: string;
    decided_via: string | null;
    created_at: number;
    decided_at: number | null;
  }>(`SELECT status, decided_via, created_at, decided_at FROM orch_approvals WHERE ${s.sql}`, s.params);
  const decided = rows.filter((r) => r.status !== 'pending' && r.decided_at !== null);
  // Time to decision measures people: decisions made by a timeout are counted apart.
  const byPeople = decided.filter((r) => r.decided_via !== 'timeout');
  return {
    total: rows.length,
    pending: rows.length - decided.length,
    decided: decided.length,
    timedOut: decided.length - byPeople.length,
    medianTimeToDecisionMs: median(byPeople.map((r) => Number(r.decided_at) - Number(r.created_at))),
  };
}

/** Completed run trees (root runs) and the metered cost of every run in them, failed attempts included. */
async function tasks(store: Store, tenantId?: string, sinceMs?: number) {
  const s = scope('finished_at', tenantId, sinceMs, 'root.');
  const where = `root.parent_id IS NULL AND root.status = 'completed' AND ${s.sql}`;
  const completed = await count(store, `SELECT COUNT(*) AS n FROM orch_runs root WHERE ${where}`, s.params);
  const costMicros = await count(
    store,
    `SELECT SUM(r.cost_micros) AS n FROM orch_runs root JOIN orch_runs r ON r.root_id = root.id WHERE ${where}`,
    s.params,
  );
  if (completed === 0) {
    return { completed, costMicros, costPerCompletedTaskMicros: null, reason: 'no completed tasks' };
  }
  return { completed, costMicros, costPerCompletedTaskMicros: Math.round(costMicros / completed) };
}

export async function fleetReport(
  store: Store,
  tenantId?: string,
  options: FleetReportOptions = {},
): Promise<FleetReport> {
  await ensureLayers(store);
  const { sinceMs } = options;
  const stallScope = scope('detected_at', tenantId, sinceMs);
  const [syscalls, sup, stalls, esc, appr, done, died] = await Promise.all([
    syscallsByLayer(store, tenantId, sinceMs),
    supervision(store, tenantId, sinceMs),
    count(store, `SELECT COUNT(*) AS n FROM orch_stalls WHERE ${stallScope.sql}`, stallScope.params),
    escalations(store, tenantId, sinceMs),
    approvals(store, tenantId, sinceMs),
    tasks(store, tenantId, sinceMs),
    deaths(store, tenantId, sinceMs),
  ]);
  return {
    tenantId: tenantId ?? null,
    sinceMs: sinceMs ?? null,
    generatedAt: options.now ?? Date.now(),
    syscalls,
    restarts: { total: sup.total, bySupervisor: sup.bySupervisor },
    stalls,
    deaths: died,
    duplicateWork: { total: sup.duplicates, definition: DUPLICATE_WORK_DEFINITION },
    escalations: esc,
    approvals: appr,
    tasks: done,
  };
}
