/**
 * @module orchestration/reliability/report
 * The reliability report (issue 14 item 4), from the store alone, for one tenant and window. It
 * stands on {@link fleetReport} (syscall outcomes per audit prefix, lease takeovers with their
 * heartbeat-to-resume times) and adds, per layer (`layerOf` of kernel/chaos, so `model.*` and
 * `models` faults meet): the faults the audit log marks (call-faults.ts), how the faulted calls
 * and their runs recovered (run-faults.ts), success raw vs with Strata; then the end-to-end
 * compound rates, times to recover, what recovering cost, and the invariants (invariants.ts).
 *
 * Attribution that is not per call: lease takeovers are worker deaths, counted in the
 * `orchestration` layer; runs resumed after a person approved a budget raise are counted as
 * **human** in the layer of the syscall that found the budget exhausted.
 */
import type { Store } from '../../kernel/index.ts';
import { layerOf } from '../../kernel/index.ts';
import { BUDGET_PAUSES_LAYER, budgetPauseMigrations } from '../budget-pause/migrations.ts';
import { fleetReport, quantiles } from '../fleet-report.ts';
import { callFaults, emptyCallFaults, failuresWithoutFault } from './call-faults.ts';
import { where } from './scope.ts';
import { invariants, type AuditChainCheck } from './invariants.ts';
import { runFaults } from './run-faults.ts';
import type { LayerReliability, Mechanisms, ReliabilityInput, ReliabilityReport } from './schema.ts';

export interface ReliabilityOptions extends Omit<ReliabilityInput, 'sinceMs'> {
  /** Only activity at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
  readonly now?: number;
  /** `kernel.audit.verify` as the caller sees it; unchecked when absent. */
  readonly auditChain?: AuditChainCheck;
}

export const APPROXIMATIONS = [
  'a call recovered inside itself took its whole duration to recover (the audit log has one entry per call, not per attempt)',
  'success raw counts as failed on the first attempt every call with a failing injected fault or that failed; real errors a retry absorbed are not in the audit log',
  'a run retried whole by the engine has no time to recover (its failed journal tail is dropped)',
  'cost of recovering is the metered cost of the incarnations a restart replaced; failed model attempts inside a call are not metered apart',
];

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);
const noMechanisms = (): Mechanisms => ({ retry: 0, fallback: 0, restart: 0, takeover: 0, human: 0 });
const num = (n: number | string | null | undefined): number => Number(n ?? 0);

/** Paused runs resumed after a person approved a raise, by the layer of the exhausted call. */
async function humanResumes(store: Store, tenantId?: string, sinceMs?: number): Promise<Map<string, number>> {
  await store.migrate(BUDGET_PAUSES_LAYER, budgetPauseMigrations);
  const w = where(tenantId, sinceMs, 'resolved_at', 'p.');
  const rows = await store.all<{ syscall: string; n: number | string }>(
    `SELECT p.syscall, COUNT(*) AS n FROM orch_budget_pauses p
       JOIN orch_budget_paused_runs r ON r.pause_id = p.id
     WHERE ${[...w.parts, `p.status = 'resumed'`].join(' AND ')} GROUP BY p.syscall`,
    w.params,
  );
  const byLayer = new Map<string, number>();
  for (const row of rows)
    byLayer.set(layerOf(row.syscall), (byLayer.get(layerOf(row.syscall)) ?? 0) + num(row.n));
  return byLayer;
}

/** Root runs in the window by outcome, and journaled syscall steps per root run. */
async function tasks(store: Store, tenantId?: string, sinceMs?: number) {
  const w = where(tenantId, sinceMs, 'created_at');
  const row = await store.get<Record<'total' | 'completed' | 'failed' | 'live', number | string | null>>(
    `SELECT COUNT(*) AS total,
       SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
       SUM(CASE WHEN status IN ('failed', 'cancelled') THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN status IN ('queued', 'running', 'waiting', 'version_unavailable') THEN 1 ELSE 0 END) AS live
     FROM orch_runs WHERE ${[...w.parts, 'parent_id IS NULL'].join(' AND ')}`,
    w.params,
  );
  const r = where(tenantId, sinceMs, 'created_at', 'r.');
  const steps = await store.get<{ n: number | string | null }>(
    `SELECT COUNT(*) AS n FROM orch_journal j JOIN orch_runs r ON r.id = j.run_id
     WHERE ${[...r.parts, `j.kind = 'syscall'`].join(' AND ')}`,
    r.params,
  );
  return {
    counts: {
      total: num(row?.total),
      completed: num(row?.completed),
      failed: num(row?.failed),
      live: num(row?.live),
    },
    syscallSteps: num(steps?.n),
  };
}

export async function reliabilityReport(
  store: Store,
  tenantId: string | undefined,
  options: ReliabilityOptions = {},
): Promise<ReliabilityReport> {
  const { sinceMs } = options;
  const fleet = await fleetReport(store, tenantId, { ...(sinceMs === undefined ? {} : { sinceMs }) });
  const [calls, runs, human, task, otherFailures] = await Promise.all([
    callFaults(store, tenantId, sinceMs),
    runFaults(store, tenantId, sinceMs),
    humanResumes(store, tenantId, sinceMs),
    tasks(store, tenantId, sinceMs),
    failuresWithoutFault(store, tenantId, sinceMs),
  ]);
  const outcomes = new Map<string, { ok: number; failed: number; denied: number; throttled: number }>();
  for (const s of fleet.syscalls) {
    const layer = layerOf(`${s.layer}.x`);
    const o = outcomes.get(layer) ?? { ok: 0, failed: 0, denied: 0, throttled: 0 };
    outcomes.set(layer, {
      ok: o.ok + s.ok,
      failed: o.failed + s.failed,
      denied: o.denied + s.denied,
      throttled: o.throttled + s.throttled,
    });
  }
  const takeovers = fleet.deaths.detected;
  const names = new Set([
    ...outcomes.keys(),
    ...calls.byLayer.keys(),
    ...runs.byLayer.keys(),
    ...human.keys(),
  ]);
  if (takeovers > 0) names.add('orchestration');

  const rawOk = new Map<string, number>(); // calls that ended ok on their first attempt
  const layers: LayerReliability[] = [...names].sort().map((layer) => {
    const o = outcomes.get(layer) ?? { ok: 0, failed: 0, denied: 0, throttled: 0 };
    const c = calls.byLayer.get(layer) ?? emptyCallFaults();
    const r = runs.byLayer.get(layer);
    const inCall = c.retry + c.fallback;
    const decided = o.ok + o.failed;
    rawOk.set(layer, Math.max(0, o.ok - inCall));
    return {
      layer,
      syscalls: decided + o.denied + o.throttled,
      ...o,
      faultsInjected: c.faultsInjected,
      faultsByKind: c.faultsByKind,
      faultedCalls: c.faultedCalls,
      failedAfterFault: c.failedAfterFault,
      recovered: {
        retry: c.retry + (r?.retry ?? 0),
        fallback: c.fallback,
        restart: r?.restart ?? 0,
        takeover: layer === 'orchestration' ? takeovers : 0,
        human: human.get(layer) ?? 0,
      },
      unrecovered: r?.unrecovered ?? 0,
      pending: r?.pending ?? 0,
      unattributed: Math.max(0, c.failedAfterFault - (r?.linked ?? 0)),
      failedWithoutFault: otherFailures.get(layer) ?? {},
      successRaw: ratio(rawOk.get(layer) ?? 0, decided),
      successWithStrata: ratio(o.ok, decided),
    };
  });

  const mechanisms = noMechanisms();
  for (const l of layers)
    for (const key of Object.keys(mechanisms) as (keyof Mechanisms)[]) mechanisms[key] += l.recovered[key];

  // The kernel's own calls (chaos, audit, keys) are administration, not a layer a task goes through.
  const layersUsed =
    options.layers ?? layers.filter((l) => l.syscalls > 0 && l.layer !== 'kernel').map((l) => l.layer);
  const rawOf = new Map(layers.map((l) => [l.layer, l.successRaw]));
  const used = layersUsed.map((l) => rawOf.get(l) ?? null);
  const predictedRaw =
    used.length && used.every((r) => r !== null) ? used.reduce<number>((p, r) => p * (r ?? 1), 1) : null;
  const usedLayers = layers.filter((l) => layersUsed.includes(l.layer));
  const perCallRaw = ratio(
    usedLayers.reduce((n, l) => n + (rawOk.get(l.layer) ?? 0), 0),
    usedLayers.reduce((n, l) => n + l.ok + l.failed, 0),
  );
  const callsPerTask =
    options.callsPerTask ?? (task.syscallSteps > 0 ? task.syscallSteps / task.counts.total : null);
  const finished = task.counts.completed + task.counts.failed;
  const callMs = [...calls.byLayer.values()].flatMap((c) => c.recoveryMs);
  const runMs = [...runs.byLayer.values()].flatMap((r) => r.recoveryMs);
  const takeoverMs = fleet.deaths.heartbeatToResumeMs;
  const auditChain = options.auditChain ?? {
    checked: false,
    holds: true,
    reason: 'not verified',
    entries: 0,
    headHash: null,
  };

  return {
    tenantId: tenantId ?? null,
    sinceMs: sinceMs ?? null,
    generatedAt: options.now ?? Date.now(),
    layers,
    mechanisms,
    endToEnd: {
      layersUsed,
      predictedRaw,
      perCallRaw,
      callsPerTask,
      predictedRawPerTask: perCallRaw === null || callsPerTask === null ? null : perCallRaw ** callsPerTask,
      measuredWithoutMechanisms: options.measuredWithoutMechanisms ?? null,
      measuredWithMechanisms: ratio(task.counts.completed, finished),
      tasks: task.counts,
    },
    timeToRecoverMs: {
      calls: quantiles(callMs),
      runs: quantiles(runMs),
      takeovers: takeoverMs,
      all: quantiles([...callMs, ...runMs]),
    },
    recoveryCost: {
      retriedCalls: callMs.length,
      retriedCallsMs: callMs.reduce((n, v) => n + v, 0),
      restartedRuns: runs.restartedRuns,
      restartedRunsMs: runs.restartedRunsMs,
      restartedRunsCostMicros: runs.restartedRunsCostMicros,
      approximations: APPROXIMATIONS,
    },
    invariants: await invariants(store, tenantId, sinceMs, auditChain),
    truncated: calls.truncated || runs.truncated,
  };
}
