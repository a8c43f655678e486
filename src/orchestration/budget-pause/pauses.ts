/**
 * @module orchestration/budget-pause/pauses
 * The store side of budget pauses: a run that hits an exhausted budget joins the open pause of
 * that budget (creating it, and raising its escalation, when it is the first); the pause's
 * resolution — an approved raise or a rejection — signals every run that joined it.
 *
 * Ordering is what keeps a run from waiting forever: joining holds a share lock on the open pause
 * row (joiners do not wait for each other), and the resolution's update of that row waits for them
 * and is waited for by later ones, so a run either joined before the resolution (and is signalled)
 * or sees it resolved (and retries at once when the resolution is later than its own refusal).
 */
import { newId, publishEvents, StrataError, type Queryable, type Store } from '../../kernel/index.ts';
import { raiseEscalation } from '../escalations/index.ts';

/** What `E_BUDGET_EXCEEDED` says about the budget that refused the call. */
export interface ExhaustedBudget {
  readonly budgetId: string;
  readonly scope: string;
  readonly subject: string;
  readonly period: string;
  readonly currency: string;
  readonly limit: string;
  readonly available: string;
  readonly requested: string;
}

export type PauseStatus = 'paused' | 'resumed' | 'rejected';

export interface BudgetPause {
  readonly id: string;
  readonly tenantId: string;
  readonly budgetId: string;
  readonly budget: ExhaustedBudget;
  readonly leaderRunId: string;
  readonly rootId: string;
  readonly syscall: string;
  /** The limit an approval without a value raises the budget to. */
  readonly proposedLimit: string;
  readonly approvalId: string | null;
  readonly status: PauseStatus;
  /** Runs that joined the pause (each waits, holding no worker). */
  readonly runs: number;
  readonly newLimit: string | null;
  readonly createdAt: number;
  readonly resolvedAt: number | null;
}

type PauseRow = {
  id: string;
  tenant_id: string;
  budget_id: string;
  budget: string;
  leader_run_id: string;
  root_id: string;
  syscall: string;
  proposed_limit: string;
  approval_id: string | null;
  status: string;
  runs: number;
  new_limit: string | null;
  created_at: number;
  resolved_at: number | null;
};

export const toPause = (row: PauseRow): BudgetPause => ({
  id: row.id,
  tenantId: row.tenant_id,
  budgetId: row.budget_id,
  budget: JSON.parse(row.budget) as ExhaustedBudget,
  leaderRunId: row.leader_run_id,
  rootId: row.root_id,
  syscall: row.syscall,
  proposedLimit: row.proposed_limit,
  approvalId: row.approval_id,
  status: row.status as PauseStatus,
  runs: Number(row.runs),
  newLimit: row.new_limit,
  createdAt: Number(row.created_at),
  resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
});

/** A pause's columns and how many runs joined it (counted, so joining writes no shared row). */
const COLUMNS = 'p.*, (SELECT COUNT(*) FROM orch_budget_paused_runs r WHERE r.pause_id = p.id) AS runs';

/** The signal a paused run waits for. */
export const pauseSignal = (pauseId: string): string => `budget:${pauseId}`;

export const escalationKey = (budgetId: string): string => `budget:${budgetId}`;

/** Decimal strings of one currency: `a + max(a, b)`, so a raise at least doubles the limit. */
export function proposeLimit(limit: string, requested: string): string {
  const scale = Math.max(decimals(limit), decimals(requested));
  const a = scaled(limit, scale);
  const b = scaled(requested, scale);
  const sum = (a + (a > b ? a : b)).toString().padStart(scale + 1, '0');
  return scale === 0 ? sum : `${sum.slice(0, -scale)}.${sum.slice(-scale)}`;
}
const decimals = (s: string): number => (s.split('.')[1] ?? '').length;
const scaled = (s: string, scale: number): bigint => {
  const [whole = '0', fraction = ''] = s.split('.');
  return BigInt(whole + fraction.padEnd(scale, '0'));
};

export type Joined =
  | { readonly pauseId: string; readonly leader: boolean; readonly resumed?: undefined }
  | { readonly pauseId: string; readonly resumed: true; readonly leader?: undefined };

/**
 * `budget:changed` `{ id, runId, status }` per run (`paused` when it joins a pause, `resumed` or
 * `rejected` when the pause is resolved), on the kernel event bus, last in the transaction.
 */
export async function publishBudgetChanged(
  q: Queryable,
  tenantId: string,
  change: { id: string; runIds: readonly string[]; status: 'paused' | 'resumed' | 'rejected' },
  now: number,
): Promise<void> {
  await publishEvents(
    q,
    change.runIds.map((runId) => ({
      topic: 'budget:changed',
      tenantId,
      payload: { id: change.id, runId, status: change.status },
    })),
    now,
  );
}

/**
 * Joins (or opens) the open pause of `budget` for run `runId`, inside the run's journaled
 * transaction. `failedAt` is when the budget refused the call: a pause resumed after it means the
 * budget was raised since, and the run should just try again.
 */
export async function joinPause(
  tx: Queryable,
  input: { runId: string; syscall: string; budget: ExhaustedBudget; failedAt: number; now: number },
): Promise<Joined> {
  const run = await tx.get<{ tenant_id: string; root_id: string }>(
    'SELECT tenant_id, root_id FROM orch_runs WHERE id = ?',
    [input.runId],
  );
  if (!run) throw new StrataError('E_NOT_FOUND', `no run ${input.runId}`);
  const { budget, now } = input;
  const share = tx.dialect === 'postgres' ? ' FOR SHARE' : '';
  const open = `SELECT id, leader_run_id FROM orch_budget_pauses WHERE tenant_id = ? AND budget_id = ? AND status = 'paused'${share}`;
  let pause = await tx.get<{ id: string; leader_run_id: string }>(open, [run.tenant_id, budget.budgetId]);
  if (!pause) {
    const recent = await tx.get<{ id: string }>(
      `SELECT id FROM orch_budget_pauses WHERE tenant_id = ? AND budget_id = ? AND status = 'resumed' AND resolved_at >= ?
       ORDER BY resolved_at DESC LIMIT 1`,
      [run.tenant_id, budget.budgetId, input.failedAt],
    );
    if (recent) return { pauseId: recent.id, resumed: true };
    const id = newId('bpz', now);
    const created = await tx.run(
      `INSERT INTO orch_budget_pauses (id, tenant_id, budget_id, budget, leader_run_id, root_id, syscall, proposed_limit,
         status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'paused', ?)
       ON CONFLICT (tenant_id, budget_id) WHERE status = 'paused' DO NOTHING`,
      [
        id,
        run.tenant_id,
        budget.budgetId,
        JSON.stringify(budget),
        input.runId,
        run.root_id,
        input.syscall,
        proposeLimit(budget.limit, budget.requested),
        now,
      ],
    );
    if (created.changes === 1) {
      const what = `${budget.period} ${budget.scope}${budget.subject ? ` ${budget.subject}` : ''}`;
      await raiseEscalation(
        tx,
        run.tenant_id,
        {
          key: escalationKey(budget.budgetId),
          severity: 'P1',
          title: `budget exhausted: ${what} (${budget.limit} ${budget.currency}); runs are paused`,
          detail:
            `run ${input.runId} (tree ${run.root_id}) paused at ${input.syscall}. Approve the budget's approval ` +
            `(strata approvals ls) to raise the limit (default ${proposeLimit(budget.limit, budget.requested)}) and ` +
            `resume every paused run, or reject it to fail them with E_BUDGET_EXCEEDED.`,
          source: 'budget',
        },
        now,
      );
    }
    pause = await tx.get<{ id: string; leader_run_id: string }>(open, [run.tenant_id, budget.budgetId]);
    if (!pause) throw new StrataError('E_CONFLICT', 'the budget pause changed while joining; try again');
  }
  const joined = await tx.run(
    'INSERT INTO orch_budget_paused_runs (pause_id, run_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    [pause.id, input.runId, now],
  );
  if (joined.changes === 1)
    await publishBudgetChanged(
      tx,
      run.tenant_id,
      { id: pause.id, runIds: [input.runId], status: 'paused' },
      now,
    );
  return { pauseId: pause.id, leader: pause.leader_run_id === input.runId };
}

export async function getPause(q: Queryable, tenantId: string, id: string): Promise<BudgetPause> {
  const row = await q.get<PauseRow>(
    `SELECT ${COLUMNS} FROM orch_budget_pauses p WHERE id = ? AND tenant_id = ?`,
    [id, tenantId],
  );
  if (!row) throw new StrataError('E_NOT_FOUND', `no budget pause ${id.slice(0, 60)} in this tenant`);
  return toPause(row);
}

export async function listPauses(
  store: Store,
  tenantId: string,
  filter: { status?: PauseStatus | 'all'; limit?: number } = {},
): Promise<BudgetPause[]> {
  const status = filter.status ?? 'paused';
  const rows = await store.all<PauseRow>(
    `SELECT ${COLUMNS} FROM orch_budget_pauses p WHERE tenant_id = ?${status === 'all' ? '' : ' AND status = ?'}
     ORDER BY created_at DESC, id DESC LIMIT ?`,
    [tenantId, ...(status === 'all' ? [] : [status]), Math.min(Math.max(filter.limit ?? 100, 1), 1000)],
  );
  return rows.map(toPause);
}
