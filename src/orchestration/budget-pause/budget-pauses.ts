/**
 * @module orchestration/budget-pause/budget-pauses
 * Budget pauses seen from outside the runs: listing them, and applying a decided raise. The
 * raise itself belongs to the billing layer; the runtime hands it in as a {@link BudgetRaiser}.
 */
import { newId, StrataError, systemClock, type Clock, type Store } from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import { escalationMigrations, ESCALATIONS_LAYER, resolveEscalationByKey } from '../escalations/index.ts';
import { BUDGET_PAUSES_LAYER, budgetPauseMigrations } from './migrations.ts';
import {
  escalationKey,
  getPause,
  listPauses,
  publishBudgetChanged,
  pauseSignal,
  type BudgetPause,
  type PauseStatus,
} from './pauses.ts';

export interface BudgetRaiser {
  /** Raises the budget to `limit` (a decimal in its currency); never lowers it; idempotent. */
  raiseTo(tenantId: string, budgetId: string, limit: string): Promise<void>;
}

const DECIMAL = /^[0-9]{1,15}(\.[0-9]{1,6})?$/;

export class BudgetPauses {
  readonly #store: Store;
  readonly #engine: Engine;
  readonly #raiser: BudgetRaiser | undefined;
  readonly #clock: Clock;

  private constructor(options: { store: Store; engine: Engine; raiser?: BudgetRaiser; clock?: Clock }) {
    this.#store = options.store;
    this.#engine = options.engine;
    this.#raiser = options.raiser;
    this.#clock = options.clock ?? systemClock;
  }

  static async open(options: {
    store: Store;
    engine: Engine;
    raiser?: BudgetRaiser;
    clock?: Clock;
  }): Promise<BudgetPauses> {
    await options.store.migrate(ESCALATIONS_LAYER, escalationMigrations);
    await options.store.migrate(BUDGET_PAUSES_LAYER, budgetPauseMigrations);
    return new BudgetPauses(options);
  }

  list(
    tenantId: string,
    filter: { status?: PauseStatus | 'all'; limit?: number } = {},
  ): Promise<BudgetPause[]> {
    return listPauses(this.#store, tenantId, filter);
  }

  get(tenantId: string, id: string): Promise<BudgetPause> {
    return getPause(this.#store, tenantId, id);
  }

  /**
   * Applies the decided approval of a pause: approved → the budget is raised (to the approval's
   * `limit`, else the proposed one) and every joined run resumes; rejected → they are told to fail.
   * Only the pause's leader run applies it (after waiting for the decision); repeating is harmless.
   */
  async resolve(tenantId: string, id: string, callerRunId: string | undefined): Promise<BudgetPause> {
    const pause = await this.get(tenantId, id);
    if (pause.leaderRunId !== callerRunId)
      throw new StrataError(
        'E_CAPABILITY_DENIED',
        `only run ${pause.leaderRunId} applies budget pause ${id}`,
      );
    if (pause.status !== 'paused') return pause;
    const approval = await this.#store.get<{
      status: string;
      value: string | null;
      decided_by: string | null;
    }>('SELECT status, value, decided_by FROM orch_approvals WHERE id = ? AND tenant_id = ?', [
      pause.approvalId ?? '',
      tenantId,
    ]);
    if (!approval || approval.status === 'pending')
      throw new StrataError('E_CONFLICT', `budget pause ${id} has no decided approval yet`);
    const approved = approval.status === 'approved';
    let limit: string | null = null;
    if (approved) {
      const asked = (JSON.parse(approval.value ?? 'null') as { limit?: unknown } | null)?.limit;
      limit = typeof asked === 'string' && DECIMAL.test(asked) ? asked : pause.proposedLimit;
      if (!this.#raiser) throw new StrataError('E_CONFIG', 'no billing layer to raise the budget with');
      await this.#raiser.raiseTo(tenantId, pause.budgetId, limit);
    }
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      const flipped = await tx.run(
        "UPDATE orch_budget_pauses SET status = ?, new_limit = ?, resolved_at = ? WHERE id = ? AND status = 'paused'",
        [approved ? 'resumed' : 'rejected', limit, now, id],
      );
      if (flipped.changes !== 1) return; // applied already
      // Every joined run but the leader (which is applying it) gets the outcome and is woken.
      const payload = JSON.stringify({ resumed: approved, limit });
      const others = [id, pause.leaderRunId];
      const joined = await tx.all<{ run_id: string }>(
        `INSERT INTO orch_signals (id, run_id, name, payload, created_at)
         SELECT ? || run_id, run_id, ?, ?, ? FROM orch_budget_paused_runs WHERE pause_id = ? AND run_id <> ?
         RETURNING run_id`,
        [`${newId('sig', now)}-`, pauseSignal(id), payload, now, ...others],
      );
      await resolveEscalationByKey(tx, tenantId, {
        key: escalationKey(pause.budgetId),
        by: approval.decided_by ?? 'system',
        now,
      });
      await this.#engine.wakeAll(
        tx,
        joined.map((r) => r.run_id),
      );
      const runIds = [pause.leaderRunId, ...joined.map((r) => r.run_id)];
      await publishBudgetChanged(
        tx,
        tenantId,
        { id, runIds, status: approved ? 'resumed' : 'rejected' },
        now,
      );
    });
    return this.get(tenantId, id);
  }
}
