/**
 * @module provisioning/billing/ledger
 * A double-entry ledger in the style of TigerBeetle, on either store driver.
 *
 * Glossary
 * - **Account**: per tenant and currency, with four running totals (debits/credits, pending/posted).
 *   Kinds: `wallet`, `budget` (one per budget period), `allocation` (funds budgets), `usage` (what
 *   budgets were spent on), `holds`, `payable` (provider payable), `revenue`, `external` (money
 *   entering or leaving the ledger). Flag `no_overdraft`: debits (posted + pending) never exceed
 *   posted credits — checked under a row lock and by a CHECK constraint.
 * - **Transfer**: immutable, one debit and one credit account of the same currency, a positive
 *   amount and a unique id. Sending the same id with the same payload returns the original;
 *   with another payload it is `E_CONFLICT`. Corrections are new transfers, never edits.
 * - **Two-phase**: a `pending` transfer moves nothing yet but counts against the debit account's
 *   no-overdraft rule; it is then posted (fully or partly; the rest is released), voided, or
 *   expired once its timeout passes (`expireDue`, the reaper). Each resolution is itself a transfer.
 *
 * Concurrency: every mutation runs in one transaction that first locks the accounts it touches in
 * id order (`SELECT … ORDER BY id FOR UPDATE` on PostgreSQL; SQLite has a single writer), then the
 * pending rows it resolves, so concurrent writers never deadlock and never overdraw.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../kernel/errors.ts';
import type { Clock } from '../../kernel/clock.ts';
import {
  forUpdate,
  type Queryable,
  type SqlValue,
  type Store,
  type Transaction,
} from '../../kernel/index.ts';
import { currencyExponent, formatMicros, toBig } from './money.ts';

export type AccountKind =
  'wallet' | 'budget' | 'allocation' | 'usage' | 'holds' | 'payable' | 'revenue' | 'external';
export const ACCOUNT_KINDS: readonly AccountKind[] = [
  'wallet',
  'budget',
  'allocation',
  'usage',
  'holds',
  'payable',
  'revenue',
  'external',
];

export type AccountFlags = 'none' | 'no_overdraft';

export type AccountRow = {
  id: string;
  tenant_id: string;
  kind: string;
  currency: string;
  flags: string;
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
  created_at: number;
};

export type TransferRow = {
  id: string;
  tenant_id: string;
  kind: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  currency: string;
  pending_id: string | null;
  timeout_at: number | null;
  reservation_id: string | null;
  memo: string | null;
  payload_hash: string;
  created_at: number;
};

export type PendingRow = {
  id: string;
  tenant_id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  status: string;
  posted_amount: number;
  timeout_at: number | null;
  reservation_id: string | null;
  currency: string;
};

export interface Account {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: string;
  readonly currency: string;
  readonly flags: AccountFlags;
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
}

export type TransferKind = 'posted' | 'pending' | 'post_pending' | 'void_pending' | 'expire_pending';

export interface Transfer {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly pendingId?: string;
  readonly timeoutAt?: number;
  readonly reservationId?: string;
  readonly memo?: string;
  readonly createdAt: number;
}

export interface OpenAccountInput {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: AccountKind;
  readonly currency: string;
  readonly flags?: AccountFlags;
}

/** A one-phase or pending transfer between two accounts. */
export interface TransferInput {
  readonly id: string;
  readonly tenantId: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  /** When given, both accounts must be in it. */
  readonly currency?: string;
  /** Makes the transfer pending; it expires `timeoutMs` after creation unless posted or voided. */
  readonly pending?: { readonly timeoutMs: number };
  readonly reservationId?: string;
  readonly memo?: string;
}

/** Posts (all or `amount` of) or voids a pending transfer. */
export interface ResolveInput {
  readonly id: string;
  readonly tenantId: string;
  readonly pendingId: string;
  readonly action: 'post' | 'void';
  /** For `post`: at most the pending amount; the rest is released. @default the pending amount */
  readonly amount?: bigint;
  readonly memo?: string;
}

export interface TrialBalanceLine {
  readonly currency: string;
  readonly debitsPosted: bigint;
  readonly creditsPosted: bigint;
  readonly debitsPending: bigint;
  readonly creditsPending: bigint;
  /** Posted debits minus posted credits: always exactly 0. */
  readonly difference: bigint;
}

const ACCOUNT_COLUMNS =
  'id, tenant_id, kind, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted, created_at';

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    currency: row.currency,
    flags: row.flags === 'no_overdraft' ? 'no_overdraft' : 'none',
    debitsPending: toBig(row.debits_pending),
    debitsPosted: toBig(row.debits_posted),
    creditsPending: toBig(row.credits_pending),
    creditsPosted: toBig(row.credits_posted),
  };
}

export function toTransfer(row: TransferRow): Transfer {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as TransferKind,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: toBig(row.amount),
    currency: row.currency,
    ...(row.pending_id === null ? {} : { pendingId: row.pending_id }),
    ...(row.timeout_at === null ? {} : { timeoutAt: Number(row.timeout_at) }),
    ...(row.reservation_id === null ? {} : { reservationId: row.reservation_id }),
    ...(row.memo === null ? {} : { memo: row.memo }),
    createdAt: Number(row.created_at),
  };
}

/** Credits minus debits, posted only (what a credit-normal account such as a wallet or budget holds). */
export function creditBalance(account: Account): bigint {
  return account.creditsPosted - account.debitsPosted;
}

/** What a debit may still take from the account: posted credits minus posted and pending debits. */
export function available(account: Account): bigint {
  return account.creditsPosted - account.debitsPosted - account.debitsPending;
}

const invalid = (reason: string, message: string, data: Record<string, unknown> = {}): StrataError =>
  new StrataError('E_INVALID_TRANSFER', message, { reason, ...data });

function hashOf(payload: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('base64url');
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_:.\-/]{0,199}$/;

export class Ledger {
  readonly store: Store;
  readonly clock: Clock;

  constructor(options: { store: Store; clock: Clock }) {
    this.store = options.store;
    this.clock = options.clock;
  }

  /** Creates the account if missing (idempotent); a different definition is `E_CONFLICT`. */
  async openAccount(input: OpenAccountInput, q: Queryable = this.store): Promise<Account> {
    currencyExponent(input.currency);
    if (!ID.test(input.id)) throw invalid('bad_id', 'account ids are 1–200 characters of [A-Za-z0-9_:.-/]');
    const flags = input.flags ?? 'none';
    await q.run(
      `INSERT INTO bill_accounts (${ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, ?) ON CONFLICT (id) DO NOTHING`,
      [input.id, input.tenantId, input.kind, input.currency, flags, this.clock.now()],
    );
    const account = await this.getAccount(input.tenantId, input.id, q);
    if (account.kind !== input.kind || account.currency !== input.currency || account.flags !== flags)
      throw new StrataError('E_CONFLICT', `account ${input.id} exists with another definition`, {
        accountId: input.id,
      });
    return account;
  }

  async getAccount(tenantId: string, id: string, q: Queryable = this.store): Promise<Account> {
    const row = await q.get<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM bill_accounts WHERE id = ? AND tenant_id = ?`,
      [id, tenantId],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no account ${id}`, { accountId: id });
    return toAccount(row);
  }

  async listAccounts(tenantId: string, kind?: string): Promise<Account[]> {
    const rows = await this.store.all<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM bill_accounts WHERE tenant_id = ?${kind ? ' AND kind = ?' : ''} ORDER BY id`,
      kind ? [tenantId, kind] : [tenantId],
    );
    return rows.map(toAccount);
  }

  async getTransfer(tenantId: string, id: string, q: Queryable = this.store): Promise<Transfer | undefined> {
    const row = await q.get<TransferRow>('SELECT * FROM bill_transfers WHERE id = ? AND tenant_id = ?', [
      id,
      tenantId,
    ]);
    return row ? toTransfer(row) : undefined;
  }

  async listTransfers(
    tenantId: string,
    options: { accountId?: string; limit?: number; before?: string } = {},
  ): Promise<Transfer[]> {
    const where = ['tenant_id = ?'];
    const params: SqlValue[] = [tenantId];
    if (options.accountId) {
      where.push('(debit_account_id = ? OR credit_account_id = ?)');
      params.push(options.accountId, options.accountId);
    }
    if (options.before) {
      where.push('id < ?');
      params.push(options.before);
    }
    params.push(Math.min(options.limit ?? 100, 1000));
    const rows = await this.store.all<TransferRow>(
      `SELECT * FROM bill_transfers WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      params,
    );
    return rows.map(toTransfer);
  }

  async getPending(tenantId: string, id: string): Promise<PendingRow | undefined> {
    return this.store.get<PendingRow>('SELECT * FROM bill_pending WHERE id = ? AND tenant_id = ?', [
      id,
      tenantId,
    ]);
  }

  /** Creates a one-phase or pending transfer; idempotent by id. */
  transfer(input: TransferInput, q?: Transaction): Promise<Transfer> {
    const payload = {
      op: 'transfer',
      debit: input.debitAccountId,
      credit: input.creditAccountId,
      amount: String(input.amount),
      currency: input.currency ?? null,
      pending: input.pending?.timeoutMs ?? null,
      reservation: input.reservationId ?? null,
      memo: input.memo ?? null,
    };
    return this.#idempotent({ tenantId: input.tenantId, id: input.id, hash: hashOf(payload) }, q, (tx, now) =>
      this.#create(tx, input, { now, hash: hashOf(payload) }),
    );
  }

  /** Posts or voids a pending transfer; idempotent by id. */
  resolve(input: ResolveInput, q?: Transaction): Promise<Transfer> {
    const payload = {
      op: input.action,
      pending: input.pendingId,
      amount: input.amount === undefined ? null : String(input.amount),
      memo: input.memo ?? null,
    };
    const hash = hashOf(payload);
    return this.#idempotent({ tenantId: input.tenantId, id: input.id, hash }, q, (tx, now) =>
      this.#resolve(tx, { ...input, now, hash }),
    );
  }

  /** Expires every pending transfer whose timeout has passed (the reaper); returns how many. */
  async expireDue(limit = 500): Promise<number> {
    const now = this.clock.now();
    const due = await this.store.all<{ id: string; tenant_id: string }>(
      "SELECT id, tenant_id FROM bill_pending WHERE status = 'pending' AND timeout_at <= ? ORDER BY timeout_at LIMIT ?",
      [now, limit],
    );
    let expired = 0;
    for (const row of due) {
      const done = await this.store.transaction((tx) => this.expireOne(tx, row.tenant_id, row.id, now));
      if (done) expired++;
    }
    return expired;
  }

  /** Expires one pending transfer if it is still pending and due; false if someone resolved it first. */
  async expireOne(tx: Transaction, tenantId: string, pendingId: string, now: number): Promise<boolean> {
    const pending = await tx.get<PendingRow>('SELECT * FROM bill_pending WHERE id = ?', [pendingId]);
    if (!pending) return false;
    await this.lockAccounts(tx, [pending.debit_account_id, pending.credit_account_id]);
    const locked = await tx.get<PendingRow>(`SELECT * FROM bill_pending WHERE id = ?${forUpdate(tx)}`, [
      pendingId,
    ]);
    if (
      !locked ||
      locked.status !== 'pending' ||
      locked.timeout_at === null ||
      Number(locked.timeout_at) > now
    )
      return false;
    await this.#release(tx, locked, { kind: 'expire_pending', id: `${pendingId}:expire`, tenantId, now });
    return true;
  }

  /** Locks accounts in id order (deadlock-free) and returns them by id. */
  async lockAccounts(tx: Transaction, ids: readonly string[]): Promise<Map<string, Account>> {
    const unique = [...new Set(ids)].sort();
    const rows = await tx.all<AccountRow>(
      `SELECT ${ACCOUNT_COLUMNS} FROM bill_accounts WHERE id IN (${unique.map(() => '?').join(', ')}) ORDER BY id${forUpdate(tx)}`,
      unique,
    );
    return new Map(rows.map((row) => [row.id, toAccount(row)]));
  }

  /** Posted totals per currency across the tenant (or every tenant): debits equal credits exactly. */
  async trialBalance(tenantId?: string): Promise<TrialBalanceLine[]> {
    const rows = await this.store.all<Record<string, string | number>>(
      `SELECT currency,
         CAST(SUM(debits_posted) AS TEXT) AS dp, CAST(SUM(credits_posted) AS TEXT) AS cp,
         CAST(SUM(debits_pending) AS TEXT) AS dq, CAST(SUM(credits_pending) AS TEXT) AS cq
       FROM bill_accounts${tenantId ? ' WHERE tenant_id = ?' : ''} GROUP BY currency ORDER BY currency`,
      tenantId ? [tenantId] : [],
    );
    return rows.map((row) => {
      const debitsPosted = toBig(row['dp']);
      const creditsPosted = toBig(row['cp']);
      return {
        currency: String(row['currency']),
        debitsPosted,
        creditsPosted,
        debitsPending: toBig(row['dq']),
        creditsPending: toBig(row['cq']),
        difference: debitsPosted - creditsPosted,
      };
    });
  }

  async #idempotent(
    key: { tenantId: string; id: string; hash: string },
    outer: Transaction | undefined,
    work: (tx: Transaction, now: number) => Promise<Transfer>,
  ): Promise<Transfer> {
    const { tenantId, id, hash } = key;
    if (!ID.test(id)) throw invalid('bad_id', 'transfer ids are 1–200 characters of [A-Za-z0-9_:.-/]');
    const replay = async (q: Queryable): Promise<Transfer | undefined> => {
      const row = await q.get<TransferRow>('SELECT * FROM bill_transfers WHERE id = ?', [id]);
      if (!row) return undefined;
      if (row.payload_hash !== hash || row.tenant_id !== tenantId)
        throw new StrataError('E_CONFLICT', `transfer ${id} exists with another payload`, { transferId: id });
      return toTransfer(row);
    };
    const run = async (tx: Transaction): Promise<Transfer> =>
      (await replay(tx)) ?? (await work(tx, this.clock.now()));
    if (outer) return run(outer);
    try {
      return await this.store.transaction(run);
    } catch (error) {
      // Two writers raced on the same new id: the loser's INSERT hit the primary key.
      if (error instanceof StrataError && error.code === 'E_CONFLICT') {
        const original = await replay(this.store);
        if (original) return original;
      }
      throw error;
    }
  }

  async #create(tx: Transaction, input: TransferInput, at: { now: number; hash: string }): Promise<Transfer> {
    if (typeof input.amount !== 'bigint' || input.amount <= 0n)
      throw invalid('amount', 'a transfer amount is a positive integer of micro-units', {
        amount: String(input.amount),
      });
    if (input.debitAccountId === input.creditAccountId)
      throw invalid('same_account', 'a transfer needs two different accounts');
    if (input.pending && !(Number.isInteger(input.pending.timeoutMs) && input.pending.timeoutMs > 0))
      throw invalid('timeout', 'a pending transfer needs a positive integer timeoutMs');
    const accounts = await this.lockAccounts(tx, [input.debitAccountId, input.creditAccountId]);
    const debit = accounts.get(input.debitAccountId);
    const credit = accounts.get(input.creditAccountId);
    for (const [id, account] of [
      [input.debitAccountId, debit],
      [input.creditAccountId, credit],
    ] as const) {
      if (!account || account.tenantId !== input.tenantId)
        throw new StrataError('E_NOT_FOUND', `no account ${id}`, { accountId: id });
    }
    if (!debit || !credit) throw new StrataError('E_INTERNAL', 'unreachable');
    if (debit.currency !== credit.currency || (input.currency && input.currency !== debit.currency))
      throw new StrataError('E_CURRENCY_MISMATCH', 'both accounts and the transfer must share one currency', {
        currencies: [debit.currency, credit.currency, input.currency ?? debit.currency],
      });
    if (debit.flags === 'no_overdraft' && input.amount > available(debit))
      throw new StrataError('E_INSUFFICIENT_FUNDS', `account ${debit.id} cannot cover this transfer`, {
        accountId: debit.id,
        available: formatMicros(available(debit), debit.currency),
        requested: formatMicros(input.amount, debit.currency),
      });
    const pending = input.pending !== undefined;
    const timeoutAt = input.pending ? at.now + input.pending.timeoutMs : null;
    const side = pending ? 'pending' : 'posted';
    await tx.run(`UPDATE bill_accounts SET debits_${side} = debits_${side} + ? WHERE id = ?`, [
      input.amount,
      debit.id,
    ]);
    await tx.run(`UPDATE bill_accounts SET credits_${side} = credits_${side} + ? WHERE id = ?`, [
      input.amount,
      credit.id,
    ]);
    const row: TransferRow = {
      id: input.id,
      tenant_id: input.tenantId,
      kind: pending ? 'pending' : 'posted',
      debit_account_id: debit.id,
      credit_account_id: credit.id,
      amount: Number(input.amount),
      currency: debit.currency,
      pending_id: null,
      timeout_at: timeoutAt,
      reservation_id: input.reservationId ?? null,
      memo: input.memo ?? null,
      payload_hash: at.hash,
      created_at: at.now,
    };
    await insertTransfer(tx, row, input.amount);
    if (pending)
      await tx.run(
        `INSERT INTO bill_pending (id, tenant_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount, timeout_at, reservation_id)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
        [
          input.id,
          input.tenantId,
          debit.id,
          credit.id,
          input.amount,
          debit.currency,
          timeoutAt,
          input.reservationId ?? null,
        ],
      );
    return toTransfer(row);
  }

  async #resolve(tx: Transaction, input: ResolveInput & { now: number; hash: string }): Promise<Transfer> {
    const peek = await tx.get<PendingRow>('SELECT * FROM bill_pending WHERE id = ? AND tenant_id = ?', [
      input.pendingId,
      input.tenantId,
    ]);
    if (!peek)
      throw new StrataError('E_NOT_FOUND', `no pending transfer ${input.pendingId}`, {
        pendingId: input.pendingId,
      });
    await this.lockAccounts(tx, [peek.debit_account_id, peek.credit_account_id]);
    const pending = await tx.get<PendingRow>(`SELECT * FROM bill_pending WHERE id = ?${forUpdate(tx)}`, [
      input.pendingId,
    ]);
    if (!pending) throw new StrataError('E_INTERNAL', 'pending row vanished');
    if (
      pending.status === 'pending' &&
      pending.timeout_at !== null &&
      Number(pending.timeout_at) <= input.now
    )
      // Overdue but not reaped yet: refused; the reaper (or the next reservation) expires it.
      throw invalid('expired', `pending transfer ${pending.id} expired`, { pendingId: pending.id });
    if (pending.status !== 'pending')
      throw invalid(pending.status, `pending transfer ${pending.id} is already ${pending.status}`, {
        pendingId: pending.id,
        status: pending.status,
      });
    const held = toBig(pending.amount);
    const amount = input.action === 'void' ? 0n : (input.amount ?? held);
    if (typeof amount !== 'bigint' || amount < 0n || amount > held)
      throw invalid('post_amount', 'a post is between 0 and the pending amount', {
        amount: String(amount),
        pending: String(held),
      });
    return this.settleLocked(tx, pending, {
      kind: input.action === 'void' ? 'void_pending' : 'post_pending',
      id: input.id,
      amount,
      now: input.now,
      hash: input.hash,
      memo: input.memo,
    });
  }

  async #release(
    tx: Transaction,
    pending: PendingRow,
    at: { kind: 'void_pending' | 'expire_pending'; id: string; tenantId: string; now: number },
  ): Promise<Transfer> {
    return this.settleLocked(tx, pending, { kind: at.kind, id: at.id, amount: 0n, now: at.now });
  }

  /**
   * Records a pending transfer. The caller holds the locks of both accounts (`lockAccounts`) and has
   * checked them (same tenant and currency, no overdraft); the budget hook's fast path.
   */
  async holdLocked(
    tx: Transaction,
    hold: {
      id: string;
      tenantId: string;
      debit: Account;
      credit: Account;
      amount: bigint;
      timeoutMs: number;
      reservationId?: string;
      memo?: string;
      now: number;
    },
  ): Promise<void> {
    await tx.run(
      `UPDATE bill_accounts SET
         debits_pending = debits_pending + (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END),
         credits_pending = credits_pending + (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END)
       WHERE id IN (?, ?)`,
      [hold.debit.id, hold.amount, hold.credit.id, hold.amount, hold.debit.id, hold.credit.id],
    );
    const timeoutAt = hold.now + hold.timeoutMs;
    const hash = hashOf({
      op: 'transfer',
      debit: hold.debit.id,
      credit: hold.credit.id,
      amount: String(hold.amount),
      currency: null,
      pending: hold.timeoutMs,
      reservation: hold.reservationId ?? null,
      memo: hold.memo ?? null,
    });
    await insertTransfer(
      tx,
      {
        id: hold.id,
        tenant_id: hold.tenantId,
        kind: 'pending',
        debit_account_id: hold.debit.id,
        credit_account_id: hold.credit.id,
        amount: Number(hold.amount),
        currency: hold.debit.currency,
        pending_id: null,
        timeout_at: timeoutAt,
        reservation_id: hold.reservationId ?? null,
        memo: hold.memo ?? null,
        payload_hash: hash,
        created_at: hold.now,
      },
      hold.amount,
    );
    await tx.run(
      `INSERT INTO bill_pending (id, tenant_id, debit_account_id, credit_account_id, amount, currency, status, posted_amount, timeout_at, reservation_id)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
      [
        hold.id,
        hold.tenantId,
        hold.debit.id,
        hold.credit.id,
        hold.amount,
        hold.debit.currency,
        timeoutAt,
        hold.reservationId ?? null,
      ],
    );
  }

  /**
   * Posts `amount` of a pending transfer (0 for a void or an expiry) and releases the rest. The
   * caller holds the account locks and the pending row's lock and has checked it is still pending.
   */
  async settleLocked(
    tx: Transaction,
    pending: PendingRow,
    at: { kind: TransferKind; id: string; amount: bigint; now: number; hash?: string; memo?: string },
  ): Promise<Transfer> {
    const held = toBig(pending.amount);
    const posted = at.kind === 'post_pending' ? at.amount : 0n;
    await tx.run(
      `UPDATE bill_accounts SET
         debits_pending = debits_pending - (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END),
         debits_posted = debits_posted + (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END),
         credits_pending = credits_pending - (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END),
         credits_posted = credits_posted + (CASE WHEN id = ? THEN CAST(? AS BIGINT) ELSE 0 END)
       WHERE id IN (?, ?)`,
      [
        pending.debit_account_id,
        held,
        pending.debit_account_id,
        posted,
        pending.credit_account_id,
        held,
        pending.credit_account_id,
        posted,
        pending.debit_account_id,
        pending.credit_account_id,
      ],
    );
    const status = at.kind === 'post_pending' ? 'posted' : at.kind === 'void_pending' ? 'voided' : 'expired';
    await tx.run(
      'UPDATE bill_pending SET status = ?, posted_amount = ?, resolved_by = ?, resolved_at = ? WHERE id = ?',
      [status, posted, at.id, at.now, pending.id],
    );
    const amount = at.kind === 'post_pending' ? posted : held;
    const row: TransferRow = {
      id: at.id,
      tenant_id: pending.tenant_id,
      kind: at.kind,
      debit_account_id: pending.debit_account_id,
      credit_account_id: pending.credit_account_id,
      amount: Number(amount),
      currency: pending.currency,
      pending_id: pending.id,
      timeout_at: null,
      reservation_id: pending.reservation_id,
      memo: at.memo ?? null,
      payload_hash: at.hash ?? hashOf({ op: at.kind, pending: pending.id }),
      created_at: at.now,
    };
    await insertTransfer(tx, row, amount);
    return toTransfer(row);
  }
}

async function insertTransfer(tx: Transaction, row: TransferRow, amount: bigint): Promise<void> {
  await tx.run(
    `INSERT INTO bill_transfers (id, tenant_id, kind, debit_account_id, credit_account_id, amount, currency, pending_id, timeout_at, reservation_id, memo, payload_hash, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      row.id,
      row.tenant_id,
      row.kind,
      row.debit_account_id,
      row.credit_account_id,
      amount,
      row.currency,
      row.pending_id,
      row.timeout_at,
      row.reservation_id,
      row.memo,
      row.payload_hash,
      row.created_at,
    ],
  );
}
