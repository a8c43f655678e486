/**
 * @module provisioning/billing/budgets
 * Budgets per tenant, agent, run or resource kind, per UTC day / ISO week / month or lifetime, hard
 * or soft, with alert thresholds — and the kernel pipeline's budget hook built on them.
 *
 * Each budget period is a ledger account (`no_overdraft` when hard) funded from the tenant's
 * `allocation` account with the limit; spending moves money from it to the tenant's `usage`
 * account. Admission is by reservation: `reserve` makes one pending transfer of the syscall's
 * estimate against every applicable budget in a single transaction (all or none; a hard budget that
 * cannot cover it refuses with `E_BUDGET_EXCEEDED`), `commit` posts the actual cost (the rest of the
 * hold is released), `release` voids. Holds time out (`holdTimeoutMs`), so a process killed mid-call
 * never leaks them: the reaper, and any later reservation on the same budget, expires them.
 *
 * Changing a limit mid-period is a correction by a new transfer (funding up, or returning down to
 * what is neither spent nor held).
 */
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { BudgetHook, BudgetRequest, BudgetReservation } from '../../kernel/syscalls/hooks.ts';
import { forUpdate, type Store, type Transaction } from '../../kernel/index.ts';
import { reservationTransaction } from './chaos-conflict.ts';
import { available, type Account, type Ledger, type PendingRow } from './ledger.ts';
import { currencyExponent, formatMicros, parseMoney, toBig } from './money.ts';

/**
 * Scopes nest tenant → project → run tree → agent (a call is held against every one that applies):
 * `project` budgets every run tree labelled with the project, `tree` a whole run tree (subject: the
 * root run's id) across every run and agent in it.
 */
export type BudgetScope = 'tenant' | 'project' | 'agent' | 'run' | 'tree' | 'kind';
export type BudgetPeriod = 'day' | 'week' | 'month' | 'lifetime';
export type BudgetMode = 'hard' | 'soft';

export type BudgetRow = {
  id: string;
  tenant_id: string;
  scope: string;
  subject: string;
  period: string;
  currency: string;
  limit_micros: number;
  mode: string;
  thresholds: string;
  created_at: number;
  updated_at: number;
};

type PeriodRow = {
  budget_id: string;
  period_key: string;
  account_id: string;
  funded: number;
  returned: number;
  /** Set by the admission pre-check: the account's flags and available amount when read (unlocked). */
  flags?: string;
  available?: number;
};

export interface Budget {
  readonly id: string;
  readonly tenantId: string;
  readonly scope: BudgetScope;
  /** Agent (principal) id, run id or resource kind (`model`, `sandbox`, …); empty for `tenant`. */
  readonly subject: string;
  readonly period: BudgetPeriod;
  readonly currency: string;
  readonly limit: bigint;
  readonly mode: BudgetMode;
  /** Percentages of the limit at which an alert fires once per period. */
  readonly thresholds: readonly number[];
}

export interface BudgetStatus extends Budget {
  readonly periodKey: string;
  readonly periodStart: number | null;
  readonly periodEnd: number | null;
  readonly spent: bigint;
  readonly held: bigint;
  /** What the period's ledger account can still cover (never negative for a hard budget). */
  readonly available: bigint;
  readonly alerts: readonly { threshold: number; spent: bigint; firedAt: number }[];
}

/** Who makes a call and where it sits: what decides which budgets hold it. */
export interface BudgetedCall {
  readonly tenantId: string;
  readonly principalId: string;
  readonly runId?: string;
  readonly rootRunId?: string;
  readonly project?: string;
  /** The resource kind: the syscall's prefix (`model`, `compute`, …). */
  readonly kind: string;
}

export interface SetBudgetInput {
  readonly tenantId: string;
  readonly scope: BudgetScope;
  readonly subject?: string;
  readonly period: BudgetPeriod;
  readonly currency: string;
  readonly limit: bigint;
  readonly mode?: BudgetMode;
  readonly thresholds?: readonly number[];
}

const DAY = 86_400_000;

/** The UTC period containing `now`: a stable key and its [start, end) bounds. */
export function periodOf(
  period: BudgetPeriod,
  now: number,
): { key: string; start: number | null; end: number | null } {
  const date = new Date(now);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
  if (period === 'day') {
    const start = Date.UTC(y, m, d);
    return { key: `d${iso(start)}`, start, end: start + DAY };
  }
  if (period === 'week') {
    const start = Date.UTC(y, m, d) - ((date.getUTCDay() + 6) % 7) * DAY; // ISO weeks start on Monday
    return { key: `w${iso(start)}`, start, end: start + 7 * DAY };
  }
  if (period === 'month') {
    const start = Date.UTC(y, m, 1);
    return { key: `m${iso(start).slice(0, 7)}`, start, end: Date.UTC(y, m + 1, 1) };
  }
  return { key: 'lifetime', start: null, end: null };
}

function toBudget(row: BudgetRow): Budget {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    scope: row.scope as BudgetScope,
    subject: row.subject,
    period: row.period as BudgetPeriod,
    currency: row.currency,
    limit: toBig(row.limit_micros),
    mode: row.mode === 'soft' ? 'soft' : 'hard',
    thresholds: JSON.parse(row.thresholds) as number[],
  };
}

export const allocationAccountId = (tenantId: string, currency: string): string =>
  `${tenantId}:allocation:${currency}`;
export const usageAccountId = (tenantId: string, currency: string): string => `${tenantId}:usage:${currency}`;
const periodAccountId = (tenantId: string, budgetId: string, key: string): string =>
  `${tenantId}:budget:${budgetId}:${key}`;

export interface BudgetsOptions {
  readonly store: Store;
  readonly ledger: Ledger;
  readonly logger: Logger;
  /** The currency of the kernel's cost estimates. @default 'USD' */
  readonly currency?: string;
  /** How long a hold lives before it expires. @default 600000 (10 minutes) */
  readonly holdTimeoutMs?: number;
}

export class Budgets {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #logger: Logger;
  readonly currency: string;
  readonly holdTimeoutMs: number;
  /** Reservations (made here) whose budgets have alert thresholds. */
  readonly #alerting = new Set<string>();

  constructor(options: BudgetsOptions) {
    this.#store = options.store;
    this.#ledger = options.ledger;
    this.#logger = options.logger;
    this.currency = options.currency ?? 'USD';
    this.holdTimeoutMs = options.holdTimeoutMs ?? 600_000;
  }

  get #now(): number {
    return this.#ledger.clock.now();
  }

  /** Creates or changes the budget for (scope, subject, period, currency). */
  async set(input: SetBudgetInput): Promise<BudgetStatus> {
    currencyExponent(input.currency);
    const subject = input.scope === 'tenant' ? '' : (input.subject ?? '');
    if (input.scope !== 'tenant' && !subject)
      throw new StrataError('E_INVALID_INPUT', `a ${input.scope} budget needs a subject`, {
        issues: [{ path: 'subject', message: 'required' }],
      });
    if (input.limit < 0n) throw new StrataError('E_INVALID_MONEY', 'a budget limit cannot be negative');
    const thresholds = [...new Set(input.thresholds ?? [])].sort((a, b) => a - b);
    if (thresholds.some((t) => !Number.isInteger(t) || t < 1 || t > 1000))
      throw new StrataError('E_INVALID_INPUT', 'thresholds are integer percentages between 1 and 1000', {
        issues: [{ path: 'thresholds', message: 'integer 1..1000' }],
      });
    const now = this.#now;
    const id = await this.#store.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO bill_budgets (id, tenant_id, scope, subject, period, currency, limit_micros, mode, thresholds, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, scope, subject, period, currency)
         DO UPDATE SET limit_micros = excluded.limit_micros, mode = excluded.mode, thresholds = excluded.thresholds, updated_at = excluded.updated_at`,
        [
          newId('bud', now),
          input.tenantId,
          input.scope,
          subject,
          input.period,
          input.currency,
          input.limit,
          input.mode ?? 'hard',
          JSON.stringify(thresholds),
          now,
          now,
        ],
      );
      const row = await tx.get<BudgetRow>(
        'SELECT * FROM bill_budgets WHERE tenant_id = ? AND scope = ? AND subject = ? AND period = ? AND currency = ?',
        [input.tenantId, input.scope, subject, input.period, input.currency],
      );
      if (!row) throw new StrataError('E_INTERNAL', 'budget vanished');
      await this.#adjustCurrentPeriod(tx, toBudget(row), now);
      return row.id;
    });
    return this.get(input.tenantId, id);
  }

  async get(tenantId: string, id: string): Promise<BudgetStatus> {
    const row = await this.#store.get<BudgetRow>(
      'SELECT * FROM bill_budgets WHERE id = ? AND tenant_id = ?',
      [id, tenantId],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no budget ${id}`, { budgetId: id });
    return this.#status(toBudget(row));
  }

  async list(tenantId: string): Promise<BudgetStatus[]> {
    const rows = await this.#store.all<BudgetRow>(
      'SELECT * FROM bill_budgets WHERE tenant_id = ? ORDER BY scope, subject, period, id',
      [tenantId],
    );
    return Promise.all(rows.map((row) => this.#status(toBudget(row))));
  }

  /** Removes a budget; its ledger history stays. */
  async remove(tenantId: string, id: string): Promise<void> {
    const { changes } = await this.#store.run('DELETE FROM bill_budgets WHERE id = ? AND tenant_id = ?', [
      id,
      tenantId,
    ]);
    if (changes === 0) throw new StrataError('E_NOT_FOUND', `no budget ${id}`, { budgetId: id });
  }

  /**
   * Raises a budget's limit to `limit` (never lowers it): what an approved raise of an exhausted
   * budget does. Idempotent, so a raise repeated after a crash changes nothing.
   */
  async raiseTo(tenantId: string, id: string, amount: string): Promise<BudgetStatus> {
    const current = await this.get(tenantId, id);
    const limit = parseMoney(amount, current.currency, { precision: 'micro' }).micros;
    if (limit <= current.limit) return current;
    return this.set({ ...current, limit, thresholds: current.thresholds });
  }

  /** The budgets that apply to a call: the tenant's, its project's, run tree's, agent's, run's and kind's. */
  async applicable(request: BudgetedCall): Promise<Budget[]> {
    const rows = await this.#store.all<BudgetRow>(
      `SELECT * FROM bill_budgets WHERE tenant_id = ? AND currency = ? AND (
         scope = 'tenant' OR (scope = 'agent' AND subject = ?) OR (scope = 'run' AND subject = ?)
         OR (scope = 'tree' AND subject = ?) OR (scope = 'project' AND subject = ?) OR (scope = 'kind' AND subject = ?)
       ) ORDER BY id`,
      [
        request.tenantId,
        this.currency,
        request.principalId,
        request.runId ?? '',
        request.rootRunId ?? request.runId ?? '',
        request.project ?? '',
        request.kind,
      ],
    );
    return rows.map(toBudget);
  }

  /**
   * Holds `amount` against every budget in one transaction, or none of them. Returns the
   * reservation id, or `null` when no budget applies or the amount is zero.
   *
   * Round trips are kept few because the budget row is locked from the `FOR UPDATE` to the commit:
   * periods are created (and overdue holds expired) in their own short transactions first; the
   * admission transaction is lock, check, one UPDATE and two INSERTs per budget.
   */
  async reserve(request: BudgetedCall & { syscall: string }, amount: bigint): Promise<string | null> {
    // Nothing to hold: no query (every zero-cost syscall passes here, a dashboard's reads too).
    if (amount <= 0n) return null;
    const budgets = await this.applicable(request);
    if (budgets.length === 0) return null;
    const now = this.#now;
    const periods = await this.#periods(budgets, now);
    // A refusal needs no lock: the budget could not cover the call at the moment it was read
    // (committed state). Only an admission must hold the row lock while it writes the hold.
    budgets.forEach((budget, i) => {
      const period = periods[i] as PeriodRow;
      if (
        period.flags === 'no_overdraft' &&
        period.available !== undefined &&
        amount > toBig(period.available)
      )
        throw exceeded(budget, toBig(period.available), amount);
    });
    const reservationId = newId('rsv', now);
    const usage = usageAccountId(request.tenantId, this.currency);
    const accountIds = [...periods.map((p) => p.account_id), usage];
    await reservationTransaction(this.#store, accountIds, async (tx) => {
      const accounts = await this.#ledger.lockAccounts(tx, accountIds);
      const credit = accounts.get(usage);
      if (!credit) throw new StrataError('E_INTERNAL', 'usage account missing');
      const debits = budgets.map((budget, i) => {
        const account = accounts.get((periods[i] as PeriodRow).account_id);
        if (!account) throw new StrataError('E_INTERNAL', 'budget account missing');
        if (account.flags === 'no_overdraft' && amount > available(account))
          throw exceeded(budget, available(account), amount);
        return { budget, account };
      });
      for (const { budget, account } of debits)
        await this.#ledger.holdLocked(tx, {
          id: `${reservationId}:${budget.id}`,
          tenantId: request.tenantId,
          debit: account,
          credit,
          amount,
          timeoutMs: this.holdTimeoutMs,
          reservationId,
          memo: request.syscall,
          now,
        });
    });
    if (budgets.some((b) => b.thresholds.length > 0)) this.#alerting.add(reservationId);
    return reservationId;
  }

  /** The current period row of each budget: created and funded on first use; overdue holds expired. */
  async #periods(budgets: readonly Budget[], now: number): Promise<PeriodRow[]> {
    const keys = budgets.map((b) => periodOf(b.period, now).key);
    const rows = await this.#store.all<PeriodRow & { overdue: number }>(
      `SELECT p.*, a.flags, a.credits_posted - a.debits_posted - a.debits_pending AS available,
         (SELECT COUNT(*) FROM bill_pending q WHERE q.debit_account_id = p.account_id AND q.status = 'pending' AND q.timeout_at <= ?) AS overdue
       FROM bill_budget_periods p JOIN bill_accounts a ON a.id = p.account_id WHERE ${budgets.map(() => '(p.budget_id = ? AND p.period_key = ?)').join(' OR ')}`,
      [now, ...budgets.flatMap((b, i) => [b.id, keys[i] as string])],
    );
    const byBudget = new Map(rows.map((row) => [row.budget_id, row]));
    const periods: PeriodRow[] = [];
    for (const budget of budgets) {
      const row = byBudget.get(budget.id);
      if (!row) {
        periods.push(await this.#store.transaction((tx) => this.#ensurePeriod(tx, budget, now)));
        continue;
      }
      // Holds left by a crashed process count until they expire: expire the overdue ones now.
      if (Number(row.overdue) > 0) {
        await this.#expireOverdue(row.account_id, now);
        periods.push({ ...row, available: undefined }); // changed: checked under the lock only
      } else periods.push(row);
    }
    return periods;
  }

  /** Posts `actual` against each hold of the reservation (capped at the hold; the rest is released). */
  async commit(tenantId: string, reservationId: string, actual: bigint): Promise<void> {
    const holds = await this.#settle(tenantId, reservationId, { post: actual < 0n ? 0n : actual });
    if (this.#alerting.delete(reservationId)) await this.#fireAlerts(holds.map((h) => h.debit_account_id));
  }

  async release(reservationId: string, tenantId: string, reason: string): Promise<void> {
    this.#alerting.delete(reservationId);
    await this.#settle(tenantId, reservationId, { memo: reason });
  }

  /**
   * Settles every hold of a reservation in one transaction: posts `post` (capped at each hold) or,
   * without `post`, voids. A hold that expired before the call finished is charged late (the work is
   * done), capped at what a hard budget still has.
   */
  async #settle(
    tenantId: string,
    reservationId: string,
    how: { post?: bigint; memo?: string },
  ): Promise<PendingRow[]> {
    const holds = await this.#holds(reservationId);
    if (holds.length === 0) return holds;
    const now = this.#now;
    await this.#store.transaction(async (tx) => {
      const accounts = await this.#ledger.lockAccounts(
        tx,
        holds.flatMap((h) => [h.debit_account_id, h.credit_account_id]),
      );
      const locked = await tx.all<PendingRow>(
        `SELECT * FROM bill_pending WHERE reservation_id = ? ORDER BY id${forUpdate(tx)}`,
        [reservationId],
      );
      for (const hold of locked) {
        const held = toBig(hold.amount);
        const live = hold.status === 'pending' && (hold.timeout_at === null || Number(hold.timeout_at) > now);
        if (live) {
          const post = how.post === undefined ? undefined : how.post < held ? how.post : held;
          await this.#ledger.settleLocked(tx, hold, {
            kind: post === undefined ? 'void_pending' : 'post_pending',
            id: `${hold.id}:${post === undefined ? 'void' : 'post'}`,
            amount: post ?? 0n,
            now,
            memo: how.memo,
          });
          if (how.post !== undefined && how.post > held)
            this.#logger.warn(
              { reservationId, held: held.toString(), actual: how.post.toString() },
              'actual cost above the estimate; the budget was charged the estimate',
            );
          continue;
        }
        if (how.post === undefined || how.post === 0n || hold.status === 'posted' || hold.status === 'voided')
          continue;
        if (hold.status === 'pending')
          await this.#ledger.settleLocked(tx, hold, {
            kind: 'expire_pending',
            id: `${hold.id}:expire`,
            amount: 0n,
            now,
          });
        const account = accounts.get(hold.debit_account_id);
        const charge = how.post < held ? how.post : held;
        const room = account && account.flags === 'no_overdraft' ? available(account) : charge;
        const late = charge < room ? charge : room;
        if (late < charge)
          this.#logger.warn({ holdId: hold.id }, 'hold expired before commit; budget charged what was left');
        if (late > 0n)
          await this.#ledger.transfer(
            {
              id: `${hold.id}:late`,
              tenantId,
              debitAccountId: hold.debit_account_id,
              creditAccountId: hold.credit_account_id,
              amount: late,
              reservationId,
              memo: 'charged after the hold expired',
            },
            tx,
          );
      }
    });
    return holds;
  }

  /** The kernel pipeline's budget hook. Calls to `billing.*` are never held (a tenant must be able
   *  to raise an exhausted budget). */
  hook(): BudgetHook {
    return {
      reserve: async (request: BudgetRequest): Promise<BudgetReservation | null> => {
        if (request.syscall.startsWith('billing.')) return null;
        if (!Number.isSafeInteger(request.estimateMicros) || request.estimateMicros < 0)
          throw new StrataError('E_INTERNAL', `bad cost estimate for ${request.syscall}`);
        const id = await this.reserve(
          {
            tenantId: request.principal.tenantId,
            principalId: request.principal.id,
            runId: request.runId,
            rootRunId: request.rootRunId,
            project: request.project,
            kind: request.syscall.split('.')[0] ?? request.syscall,
            syscall: request.syscall,
          },
          BigInt(request.estimateMicros),
        );
        return id ? { id: `${request.principal.tenantId}|${id}` } : null;
      },
      commit: async (reservation, actualMicros) => {
        const [tenantId = '', id = ''] = reservation.id.split('|');
        await this.commit(tenantId, id, BigInt(Math.max(0, Math.round(actualMicros))));
      },
      release: async (reservation, reason) => {
        const [tenantId = '', id = ''] = reservation.id.split('|');
        await this.release(id, tenantId, reason);
      },
    };
  }

  async #holds(reservationId: string): Promise<PendingRow[]> {
    return this.#store.all<PendingRow>('SELECT * FROM bill_pending WHERE reservation_id = ? ORDER BY id', [
      reservationId,
    ]);
  }

  async #expireOverdue(accountId: string, now: number): Promise<void> {
    const overdue = await this.#store.all<{ id: string; tenant_id: string }>(
      "SELECT id, tenant_id FROM bill_pending WHERE debit_account_id = ? AND status = 'pending' AND timeout_at <= ?",
      [accountId, now],
    );
    for (const row of overdue)
      await this.#store.transaction((tx) => this.#ledger.expireOne(tx, row.tenant_id, row.id, now));
  }

  async #ensureTenantAccounts(tx: Transaction, tenantId: string, currency: string): Promise<void> {
    const existing = await tx.all<{ id: string }>('SELECT id FROM bill_accounts WHERE id IN (?, ?)', [
      allocationAccountId(tenantId, currency),
      usageAccountId(tenantId, currency),
    ]);
    if (existing.length === 2) return;
    await this.#ledger.openAccount(
      { id: allocationAccountId(tenantId, currency), tenantId, kind: 'allocation', currency },
      tx,
    );
    await this.#ledger.openAccount(
      { id: usageAccountId(tenantId, currency), tenantId, kind: 'usage', currency },
      tx,
    );
  }

  /** The budget's account for the current period, created and funded with the limit on first use. */
  async #ensurePeriod(tx: Transaction, budget: Budget, now: number): Promise<PeriodRow> {
    const { key } = periodOf(budget.period, now);
    const existing = await tx.get<PeriodRow>(
      'SELECT * FROM bill_budget_periods WHERE budget_id = ? AND period_key = ?',
      [budget.id, key],
    );
    if (existing) return existing;
    const accountId = periodAccountId(budget.tenantId, budget.id, key);
    const { changes } = await tx.run(
      'INSERT INTO bill_budget_periods (budget_id, period_key, account_id, funded) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [budget.id, key, accountId, budget.limit],
    );
    const row = await tx.get<PeriodRow>(
      'SELECT * FROM bill_budget_periods WHERE budget_id = ? AND period_key = ?',
      [budget.id, key],
    );
    if (!row) throw new StrataError('E_INTERNAL', 'budget period vanished');
    if (changes === 0) return row; // another writer created (and funded) it
    await this.#ensureTenantAccounts(tx, budget.tenantId, budget.currency);
    await this.#ledger.openAccount(
      {
        id: accountId,
        tenantId: budget.tenantId,
        kind: 'budget',
        currency: budget.currency,
        flags: budget.mode === 'hard' ? 'no_overdraft' : 'none',
      },
      tx,
    );
    if (budget.limit > 0n)
      await this.#ledger.transfer(
        {
          id: `${accountId}:fund`,
          tenantId: budget.tenantId,
          debitAccountId: allocationAccountId(budget.tenantId, budget.currency),
          creditAccountId: accountId,
          amount: budget.limit,
          memo: `fund ${describe(budget)} budget`,
        },
        tx,
      );
    return row;
  }

  /** After a limit change: fund the current period up, or return what is neither spent nor held. */
  async #adjustCurrentPeriod(tx: Transaction, budget: Budget, now: number): Promise<void> {
    const { key } = periodOf(budget.period, now);
    const period = await tx.get<PeriodRow & { adjustments: number }>(
      'SELECT * FROM bill_budget_periods WHERE budget_id = ? AND period_key = ?',
      [budget.id, key],
    );
    if (!period) return;
    const accounts = await this.#ledger.lockAccounts(tx, [
      period.account_id,
      allocationAccountId(budget.tenantId, budget.currency),
    ]);
    const account = accounts.get(period.account_id);
    if (!account) return;
    const flags = budget.mode === 'hard' ? 'no_overdraft' : 'none';
    const net = toBig(period.funded) - toBig(period.returned);
    let delta = budget.limit - net;
    if (delta < 0n && -delta > available(account))
      delta = -(available(account) > 0n ? available(account) : 0n);
    const seq = Number(period.adjustments) + 1;
    if (delta !== 0n) {
      const up = delta > 0n;
      await this.#ledger.transfer(
        {
          id: `${period.account_id}:adjust:${seq}`,
          tenantId: budget.tenantId,
          debitAccountId: up ? allocationAccountId(budget.tenantId, budget.currency) : period.account_id,
          creditAccountId: up ? period.account_id : allocationAccountId(budget.tenantId, budget.currency),
          amount: up ? delta : -delta,
          memo: `limit changed to ${formatMicros(budget.limit, budget.currency)}`,
        },
        tx,
      );
      await tx.run(
        `UPDATE bill_budget_periods SET ${up ? 'funded = funded' : 'returned = returned'} + ?, adjustments = ? WHERE budget_id = ? AND period_key = ?`,
        [up ? delta : -delta, seq, budget.id, key],
      );
    }
    // A soft budget turned hard keeps its overdraft if it is already over; otherwise the flag follows.
    const after = await this.#ledger.lockAccounts(tx, [period.account_id]);
    const current = after.get(period.account_id) as Account;
    if (flags !== current.flags && (flags === 'none' || available(current) >= 0n))
      await tx.run('UPDATE bill_accounts SET flags = ? WHERE id = ?', [flags, period.account_id]);
  }

  async #status(budget: Budget): Promise<BudgetStatus> {
    const now = this.#now;
    const { key, start, end } = periodOf(budget.period, now);
    const period = await this.#store.get<PeriodRow>(
      'SELECT * FROM bill_budget_periods WHERE budget_id = ? AND period_key = ?',
      [budget.id, key],
    );
    let spent = 0n;
    let held = 0n;
    let left = budget.limit;
    if (period) {
      const account = await this.#ledger.getAccount(budget.tenantId, period.account_id);
      spent = account.debitsPosted - toBig(period.returned);
      held = account.debitsPending;
      left = available(account);
    }
    const alerts = await this.#store.all<{ threshold: number; spent: number; fired_at: number }>(
      'SELECT threshold, spent, fired_at FROM bill_budget_alerts WHERE budget_id = ? AND period_key = ? ORDER BY threshold',
      [budget.id, key],
    );
    return {
      ...budget,
      periodKey: key,
      periodStart: start,
      periodEnd: end,
      spent,
      held,
      available: left,
      alerts: alerts.map((a) => ({
        threshold: Number(a.threshold),
        spent: toBig(a.spent),
        firedAt: Number(a.fired_at),
      })),
    };
  }

  /** Records (once per period) each threshold the posted spend has crossed, and logs it. */
  async #fireAlerts(accountIds: readonly string[]): Promise<void> {
    for (const accountId of new Set(accountIds)) {
      const row = await this.#store.get<BudgetRow & PeriodRow & { debits_posted: number }>(
        `SELECT b.*, p.period_key, p.returned, a.debits_posted FROM bill_budget_periods p
           JOIN bill_budgets b ON b.id = p.budget_id JOIN bill_accounts a ON a.id = p.account_id
         WHERE p.account_id = ?`,
        [accountId],
      );
      if (!row) continue;
      const budget = toBudget(row);
      if (budget.thresholds.length === 0 || budget.limit === 0n) continue;
      const spent = toBig(row.debits_posted) - toBig(row.returned);
      for (const threshold of budget.thresholds) {
        if (spent * 100n < budget.limit * BigInt(threshold)) continue;
        const { changes } = await this.#store.run(
          'INSERT INTO bill_budget_alerts (budget_id, period_key, threshold, spent, fired_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [budget.id, row.period_key, threshold, spent, this.#now],
        );
        if (changes > 0)
          this.#logger.warn(
            {
              budgetId: budget.id,
              tenant: budget.tenantId,
              threshold,
              spent: formatMicros(spent, budget.currency),
            },
            'budget alert threshold crossed',
          );
      }
    }
  }
}

function exceeded(budget: Budget, left: bigint, amount: bigint): StrataError {
  return new StrataError('E_BUDGET_EXCEEDED', `the ${describe(budget)} budget does not cover this call`, {
    budgetId: budget.id,
    scope: budget.scope,
    subject: budget.subject,
    period: budget.period,
    currency: budget.currency,
    limit: formatMicros(budget.limit, budget.currency),
    available: formatMicros(left, budget.currency),
    requested: formatMicros(amount, budget.currency),
  });
}

function describe(budget: Budget): string {
  return `${budget.period} ${budget.scope}${budget.subject ? ` ${budget.subject}` : ''}`;
}
