/**
 * @module orchestration/finops/cost-report
 * Cost per task: the `syscall.cost` meter events of a tenant, attributed to run trees, runs, agents,
 * models, tools, tenants or projects, with the spend on failed or discarded work (waste) apart.
 *
 * Glossary
 * - **Task**: a run tree — a root run and every run it started, whatever their attempts and
 *   restarts. Its cost is the sum of every metered call made by any run of the tree.
 * - **Waste**: spend whose result the task did not keep. Per call, the first reason that applies:
 *   `failed_run` / `cancelled_run` (the call's run, or its tree's root, ended failed or cancelled:
 *   nothing it paid for was delivered); `failed_attempt` / `discarded_step` (the call's journal step
 *   holds no kept result — a later execution of the same step superseded it, or the run ended
 *   without the step journaled — made in an attempt earlier than the run's last, or in the last).
 *   A failed attempt's calls whose results were journaled are replayed, not paid again, by the next
 *   attempt: they are committed, not waste.
 * - **Committed**: total − waste. Calls made outside durable runs are committed, with no tree.
 * - **Cost per completed task**: the total of the trees whose root completed (waste included: it
 *   is part of what the task cost) divided by their number.
 */
import { formatMicros } from '../../provisioning/index.ts';
import type { SqlValue, Store } from '../../kernel/index.ts';

export const COST_GROUPS = ['tree', 'run', 'agent', 'model', 'tool', 'tenant', 'project'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];
export const WASTE_REASONS = ['failed_run', 'cancelled_run', 'failed_attempt', 'discarded_step'] as const;
export type WasteReason = (typeof WASTE_REASONS)[number];

export interface CostQuery {
  readonly groupBy: CostGroup;
  /** Tenants to read; the syscall always passes the caller's. */
  readonly tenantIds: readonly string[];
  readonly currency: string;
  /** Epoch ms, inclusive. */
  readonly since?: number;
  /** Epoch ms, exclusive. */
  readonly until?: number;
  readonly rootId?: string;
  readonly project?: string;
  /** Largest groups first; at most this many. */
  readonly limit?: number;
}

export interface CostFigures {
  readonly total: string;
  readonly committed: string;
  readonly waste: string;
  readonly totalMicros: number;
  readonly committedMicros: number;
  readonly wasteMicros: number;
  readonly calls: number;
  readonly wasteCalls: number;
}

export interface CostGroupRow extends CostFigures {
  /** The group's value (`-` when the calls carry none, e.g. a model for tool calls). */
  readonly key: string;
  /** For `tree`: the root run's workflow and status. */
  readonly workflow?: string;
  readonly status?: string;
}

export interface CostReport {
  readonly groupBy: CostGroup;
  readonly currency: string;
  readonly since: number | null;
  readonly until: number | null;
  readonly groups: readonly CostGroupRow[];
  /** Groups left out by `limit`. */
  readonly omitted: number;
  readonly totals: CostFigures;
  readonly waste: readonly {
    readonly reason: WasteReason;
    readonly amount: string;
    readonly calls: number;
  }[];
  readonly tasks: {
    readonly completed: number;
    readonly cost: string;
    /** `null` when no tree of the selection completed. */
    readonly costPerCompletedTask: string | null;
  };
}

type UsageRow = {
  id: string;
  tenant_id: string;
  qty_micros: number | string;
  time: number | string;
  project: string | null;
  root_id: string | null;
  run_id: string | null;
  step_seq: number | null;
  attempt: number | null;
  agent_id: string | null;
  model: string | null;
  tool: string | null;
  run_status: string | null;
  run_attempt: number | null;
  root_status: string | null;
  root_workflow: string | null;
  step_status: string | null;
};

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

interface Sums {
  total: bigint;
  waste: bigint;
  calls: number;
  wasteCalls: number;
}

const zero = (): Sums => ({ total: 0n, waste: 0n, calls: 0, wasteCalls: 0 });

function figures(s: Sums, currency: string): CostFigures {
  const committed = s.total - s.waste;
  return {
    total: formatMicros(s.total, currency),
    committed: formatMicros(committed, currency),
    waste: formatMicros(s.waste, currency),
    totalMicros: Number(s.total),
    committedMicros: Number(committed),
    wasteMicros: Number(s.waste),
    calls: s.calls,
    wasteCalls: s.wasteCalls,
  };
}

/** The waste reason of one call, or null when its result was kept (see the module doc). */
function wasteOf(row: UsageRow, superseded: boolean): WasteReason | null {
  if (!row.run_id) return null;
  if (row.run_status === 'failed' || row.root_status === 'failed') return 'failed_run';
  if (row.run_status === 'cancelled' || row.root_status === 'cancelled') return 'cancelled_run';
  if (row.step_seq === null) return null;
  const unkept = superseded || (TERMINAL.has(row.run_status ?? '') && row.step_status !== 'ok');
  if (!unkept) return null;
  return row.attempt !== null && row.run_attempt !== null && row.attempt < row.run_attempt
    ? 'failed_attempt'
    : 'discarded_step';
}

function keyOf(row: UsageRow, group: CostGroup): string {
  const value = {
    tree: row.root_id,
    run: row.run_id,
    agent: row.agent_id,
    model: row.model,
    tool: row.tool,
    tenant: row.tenant_id,
    project: row.project,
  }[group];
  return value ?? '-';
}

async function usageRows(store: Store, query: CostQuery): Promise<UsageRow[]> {
  const marks = query.tenantIds.map(() => '?').join(', ');
  const where = [`e.tenant_id IN (${marks})`, "e.type = 'syscall.cost'", 'e.unit = ?'];
  const params: SqlValue[] = [...query.tenantIds, query.currency];
  const add = (clause: string, value: SqlValue | undefined): void => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  add('e.time >= ?', query.since);
  add('e.time < ?', query.until);
  add('e.root_id = ?', query.rootId);
  add('e.project = ?', query.project);
  // Runs are joined by id within the event's tenant, so another tenant's run ids never match.
  return store.all<UsageRow>(
    `SELECT e.id, e.tenant_id, e.qty_micros, e.time, e.project, e.root_id, e.run_id, e.step_seq, e.attempt,
            e.agent_id, e.model, e.tool, r.status AS run_status, r.attempt AS run_attempt,
            t.status AS root_status, t.workflow AS root_workflow, j.status AS step_status
       FROM bill_meter_events e
       LEFT JOIN orch_runs r ON r.id = e.run_id AND r.tenant_id = e.tenant_id
       LEFT JOIN orch_runs t ON t.id = e.root_id AND t.tenant_id = e.tenant_id
       LEFT JOIN orch_journal j ON j.run_id = e.run_id AND j.seq = e.step_seq
      WHERE ${where.join(' AND ')}
      ORDER BY e.time, e.id`,
    params,
  );
}

export async function costReport(store: Store, query: CostQuery): Promise<CostReport> {
  const rows = query.tenantIds.length === 0 ? [] : await usageRows(store, query);
  // The last execution of a journal step is the one whose result the run kept (rows are in time order).
  const lastOfStep = new Map<string, string>();
  for (const row of rows)
    if (row.run_id && row.step_seq !== null) lastOfStep.set(`${row.run_id}:${row.step_seq}`, row.id);
  const groups = new Map<string, Sums & { workflow?: string; status?: string }>();
  const totals = zero();
  const reasons = new Map<WasteReason, { micros: bigint; calls: number }>();
  const trees = new Map<string, { status: string | null; total: bigint }>();
  for (const row of rows) {
    const micros = BigInt(row.qty_micros);
    const superseded =
      row.run_id !== null &&
      row.step_seq !== null &&
      lastOfStep.get(`${row.run_id}:${row.step_seq}`) !== row.id;
    const reason = wasteOf(row, superseded);
    const key = keyOf(row, query.groupBy);
    let group = groups.get(key);
    if (!group) {
      group = zero();
      if (query.groupBy === 'tree' && row.root_id) {
        group.workflow = row.root_workflow ?? '-';
        group.status = row.root_status ?? 'unknown';
      }
      groups.set(key, group);
    }
    for (const sums of [group, totals]) {
      sums.total += micros;
      sums.calls++;
      if (reason) {
        sums.waste += micros;
        sums.wasteCalls++;
      }
    }
    if (reason) {
      const r = reasons.get(reason) ?? { micros: 0n, calls: 0 };
      reasons.set(reason, { micros: r.micros + micros, calls: r.calls + 1 });
    }
    if (row.root_id) {
      const tree = trees.get(row.root_id) ?? { status: row.root_status, total: 0n };
      tree.total += micros;
      trees.set(row.root_id, tree);
    }
  }
  const { currency } = query;
  const ordered = [...groups]
    .map(([key, s]): CostGroupRow => ({
      key,
      ...(s.workflow === undefined ? {} : { workflow: s.workflow, status: s.status }),
      ...figures(s, currency),
    }))
    .sort((a, b) => b.totalMicros - a.totalMicros || a.key.localeCompare(b.key));
  const shown = query.limit === undefined ? ordered : ordered.slice(0, query.limit);
  const completed = [...trees.values()].filter((t) => t.status === 'completed');
  const completedCost = completed.reduce((sum, t) => sum + t.total, 0n);
  return {
    groupBy: query.groupBy,
    currency,
    since: query.since ?? null,
    until: query.until ?? null,
    groups: shown,
    omitted: ordered.length - shown.length,
    totals: figures(totals, currency),
    waste: WASTE_REASONS.flatMap((reason) => {
      const r = reasons.get(reason);
      return r ? [{ reason, amount: formatMicros(r.micros, currency), calls: r.calls }] : [];
    }),
    tasks: {
      completed: completed.length,
      cost: formatMicros(completedCost, currency),
      // Rounded down to the micro-unit: an average, not a charge.
      costPerCompletedTask:
        completed.length === 0 ? null : formatMicros(completedCost / BigInt(completed.length), currency),
    },
  };
}
