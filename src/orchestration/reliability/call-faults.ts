/**
 * @module orchestration/reliability/call-faults
 * What the audit log says about injected faults, call by call. The pipeline writes one entry per
 * call with `detail.faults: [{kind, layer, rule, attempt, realised?}]` (kernel/chaos), so:
 *
 * - a *failing* fault is an injected error or outage, or a named fault its driver realised
 *   (latency and unrealised named faults fail nothing);
 * - a faulted call that ended ok was recovered inside the call: by **fallback** when it is a model
 *   call whose result names attempts on more than one target and ended on another one than it
 *   started with, else by **retry** (the pipeline's, or the model service's own);
 * - a faulted call that ended in error is left to the run that made it (run-faults.ts);
 * - a call's first attempt succeeded unless a failing fault is marked on it or the call had to be
 *   retried at all (a fault marked on attempt 2 means attempt 1 failed for a real reason).
 *
 * Time to recover of a call is its whole duration (the entry records when the call ended and how
 * long it took, not when each attempt started): an upper bound of fault → ok.
 * The scan is bounded to the newest {@link CALL_SCAN_LIMIT} faulted entries.
 */
import type { Store } from '../../kernel/index.ts';
import { layerOf } from '../../kernel/index.ts';
import { where } from './scope.ts';

export const CALL_SCAN_LIMIT = 20_000;

interface FaultMark {
  readonly kind: string;
  readonly realised?: boolean;
}

interface Detail {
  readonly faults?: readonly FaultMark[];
  readonly result?: { readonly attempts?: readonly { target: string; outcome: string }[] };
}

/** Per layer, what the faulted calls came to. */
export interface CallFaults {
  faultsInjected: number;
  faultsByKind: Record<string, number>;
  faultedCalls: number;
  retry: number;
  fallback: number;
  failedAfterFault: number;
  recoveryMs: number[];
}

export const emptyCallFaults = (): CallFaults => ({
  faultsInjected: 0,
  faultsByKind: {},
  faultedCalls: 0,
  retry: 0,
  fallback: 0,
  failedAfterFault: 0,
  recoveryMs: [],
});

const failing = (m: FaultMark): boolean => m.kind !== 'latency' && m.realised !== false;

/** A model call that ended on another target than its first attempt's. */
function fellBack(detail: Detail): boolean {
  const attempts = detail.result?.attempts ?? [];
  const last = attempts.at(-1);
  return attempts.length > 1 && last?.outcome === 'ok' && last.target !== attempts[0]?.target;
}

type Row = { action: string; outcome: string; detail: string; duration_us: number | string };

export async function callFaults(
  store: Store,
  tenantId: string | undefined,
  sinceMs: number | undefined,
): Promise<{ byLayer: Map<string, CallFaults>; truncated: boolean }> {
  const w = where(tenantId, sinceMs, 'ts');
  const rows = await store.all<Row>(
    `SELECT action, outcome, detail, duration_us FROM kernel_audit
     WHERE ${[`detail LIKE '%"faults":[%'`, ...w.parts].join(' AND ')}
     ORDER BY ts DESC LIMIT ${CALL_SCAN_LIMIT + 1}`,
    w.params,
  );
  const byLayer = new Map<string, CallFaults>();
  for (const row of rows.slice(0, CALL_SCAN_LIMIT)) {
    const detail = JSON.parse(row.detail) as Detail;
    const marks = detail.faults ?? [];
    const layer = layerOf(row.action);
    const c = byLayer.get(layer) ?? emptyCallFaults();
    byLayer.set(layer, c);
    for (const m of marks) {
      if (m.realised === false) continue; // planned, but its driver did not make it happen
      c.faultsInjected++;
      c.faultsByKind[m.kind] = (c.faultsByKind[m.kind] ?? 0) + 1;
    }
    const failed = marks.filter(failing);
    if (failed.length === 0 || row.outcome === 'denied') continue;
    c.faultedCalls++;
    if (row.outcome !== 'ok') {
      c.failedAfterFault++;
      continue;
    }
    if (fellBack(detail)) c.fallback++;
    else c.retry++;
    c.recoveryMs.push(Number(row.duration_us) / 1000);
  }
  return { byLayer, truncated: rows.length > CALL_SCAN_LIMIT };
}

/**
 * Per layer, the failed calls with no fault marked on them, by error code: what lowers a layer's
 * success with Strata besides the faults (a check that fails for real, a refused stale call). Those
 * refused for capacity (E_RATE_LIMITED with no fault: throttled) are not failures and not counted.
 */
export async function failuresWithoutFault(
  store: Store,
  tenantId: string | undefined,
  sinceMs: number | undefined,
): Promise<Map<string, Record<string, number>>> {
  const w = where(tenantId, sinceMs, 'ts');
  const conditions = [
    `outcome NOT IN ('ok', 'denied')`,
    `detail NOT LIKE '%"faults":%'`,
    `COALESCE(error_code, '') <> 'E_RATE_LIMITED'`,
    ...w.parts,
  ];
  const rows = await store.all<{ action: string; code: string; n: number | string }>(
    `SELECT action, COALESCE(error_code, 'E_UNKNOWN') AS code, COUNT(*) AS n FROM kernel_audit
     WHERE ${conditions.join(' AND ')} GROUP BY action, error_code`,
    w.params,
  );
  const byLayer = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const layer = layerOf(row.action);
    const codes = byLayer.get(layer) ?? {};
    codes[row.code] = (codes[row.code] ?? 0) + Number(row.n);
    byLayer.set(layer, codes);
  }
  return byLayer;
}
