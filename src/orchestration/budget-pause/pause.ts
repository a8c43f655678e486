/**
 * @module orchestration/budget-pause/pause
 * What a run does when a budget refuses one of its calls (workflow option `onBudgetExhausted`,
 * default `pause`): it pauses instead of failing, and the call is made again once a person has
 * approved a raise. Every part is a journaled operation of the run, so a crash or a restart at any
 * point replays to the same place:
 * 1. `budget.pause` (a transaction) joins the budget's open pause — the first run opens it and
 *    raises one P1 escalation, later ones only join;
 * 2. the first run (the pause's leader) asks one approval (`approvals.request`), records it on the
 *    pause, waits for the decision, then applies it (`runs.budget_pauses.resolve`: raise the limit
 *    and signal every joined run, or reject and signal them too);
 * 3. the others wait for the pause's signal, holding no worker.
 * After a raise the caller retries the call (a new journal position, a new reservation); after a
 * rejection the original `E_BUDGET_EXCEEDED` is thrown into the workflow.
 */
import type { StrataError } from '../../kernel/index.ts';
import { isStrataError } from '../../kernel/index.ts';
import { approvalSignal, type Approval } from '../approvals/approval-row.ts';
import type { WorkflowContext } from '../context.ts';
import { joinPause, pauseSignal, proposeLimit, type BudgetPause, type ExhaustedBudget } from './pauses.ts';

const FIELDS = ['budgetId', 'scope', 'subject', 'period', 'currency', 'limit', 'available', 'requested'];

/** A budget refusal this run can pause on (not one raised by the pause machinery itself). */
export function isBudgetPause(syscall: string, error: unknown): error is StrataError {
  if (!isStrataError(error) || error.code !== 'E_BUDGET_EXCEEDED') return false;
  if (syscall.startsWith('approvals.') || syscall.startsWith('runs.budget_pauses.')) return false;
  const data = error.data as Record<string, unknown> | undefined;
  return FIELDS.every((field) => typeof data?.[field] === 'string');
}

/** Parks the run until the exhausted budget is raised (returns) or the raise is rejected (throws). */
export async function pauseForBudget(
  ctx: WorkflowContext,
  syscall: string,
  error: StrataError,
): Promise<void> {
  const budget = error.data as ExhaustedBudget;
  const failedAt = Date.now();
  const joined = await ctx.transaction('budget.pause', (tx) =>
    joinPause(tx, { runId: ctx.runId, syscall, budget, failedAt, now: Date.now() }),
  );
  if (joined.resumed) return; // raised since the refusal: try again
  if (!joined.leader) {
    const outcome = await ctx.waitFor<{ resumed: boolean }>(pauseSignal(joined.pauseId));
    if (!outcome.resumed) throw error;
    return;
  }
  const what = `${budget.period} ${budget.scope}${budget.subject ? ` ${budget.subject}` : ''}`;
  const proposed = proposeLimit(budget.limit, budget.requested);
  const approval = await ctx.syscall<Approval>('approvals.request', {
    question:
      `The ${what} budget (${budget.limit} ${budget.currency}) is exhausted and the runs that hit it are paused. ` +
      `Approve to raise its limit to ${proposed} ${budget.currency} (or approve with {"limit": "<amount>"}) ` +
      'and resume them; reject to fail them with E_BUDGET_EXCEEDED.',
    schema: {
      type: 'object',
      properties: { limit: { type: 'string', pattern: '^[0-9]{1,15}(\\.[0-9]{1,6})?$' } },
      additionalProperties: false,
    },
    approvers: [],
    onTimeout: 'reject',
  });
  await ctx.transaction('budget.pause.approval', async (tx) => {
    await tx.run('UPDATE orch_budget_pauses SET approval_id = ? WHERE id = ?', [approval.id, joined.pauseId]);
    return approval.id;
  });
  await ctx.waitFor(approvalSignal(approval.id));
  const resolved = await ctx.syscall<BudgetPause>('runs.budget_pauses.resolve', { id: joined.pauseId });
  if (resolved.status !== 'resumed') throw error;
}
