/**
 * @module provisioning/billing/spend-token-trees
 * The mechanics under `SpendTokens`: locking a token tree in its one order (root row, other token
 * rows, ledger accounts, pending rows), settling reservations and keeping every chain's counters
 * in step with the ledger, deactivating subtrees, and returning a root's unspent remainder.
 * Internal: callers hold the locks each method's comment names.
 */
import type { Clock } from '../../kernel/clock.ts';
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { forUpdate, type Queryable, type Store, type Transaction } from '../../kernel/index.ts';
import { usageAccountId } from './budgets.ts';
import { available, type Account, type Ledger, type PendingRow } from './ledger.ts';
import { toBig } from './money.ts';
import {
  hashSecret,
  invalidToken,
  isSecret,
  limitError,
  toReservation,
  type Purchase,
  type ReservationRow,
  type SpendReservation,
  type TokenRow,
  type TokenTerms,
} from './spend-token-rules.ts';

export type Settlement = 'post_pending' | 'void_pending' | 'expire_pending';
export const STATUS_OF: Record<Settlement, SpendReservation['status']> = {
  post_pending: 'captured',
  void_pending: 'voided',
  expire_pending: 'expired',
};

export const chainOf = (row: { chain: string }): string[] => JSON.parse(row.chain) as string[];
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class SpendTokenTrees {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;

  constructor(options: { store: Store; ledger: Ledger; clock: Clock }) {
    this.#store = options.store;
    this.#ledger = options.ledger;
    this.#clock = options.clock;
  }

  /** The token of a secret in the tenant; `E_SPEND_TOKEN_INVALID` when malformed, unknown or foreign. */
  async bySecret(tenantId: string, secret: string): Promise<TokenRow> {
    if (!isSecret(secret)) throw invalidToken();
    const row = await this.#store.get<TokenRow>('SELECT * FROM bill_spend_tokens WHERE secret_hash = ?', [
      hashSecret(secret),
    ]);
    if (!row || row.tenant_id !== tenantId) throw invalidToken();
    return row;
  }

  /** A reservation of the tenant, read through `q` (a transaction, or the store). */
  async reservation(tenantId: string, id: string, q: Queryable = this.#store): Promise<SpendReservation> {
    const row = await q.get<ReservationRow>(
      'SELECT * FROM bill_spend_reservations WHERE id = ? AND tenant_id = ?',
      [id, tenantId],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no spend reservation ${id}`, { reservationId: id });
    return toReservation(row);
  }

  /** Locks a token's ancestors and itself, root first, and returns them in that order. */
  async lockChain(tx: Transaction, token: TokenRow): Promise<TokenRow[]> {
    const chain = [...chainOf(token), token.id];
    return tx.all<TokenRow>(
      `SELECT * FROM bill_spend_tokens WHERE id IN (${placeholders(chain.length)}) ORDER BY depth${forUpdate(tx)}`,
      chain,
    );
  }

  /** Locks every token of a tree, root first. */
  async lockTree(tx: Transaction, rootId: string): Promise<TokenRow[]> {
    const root = await tx.get<TokenRow>(`SELECT * FROM bill_spend_tokens WHERE id = ?${forUpdate(tx)}`, [
      rootId,
    ]);
    const rest = await tx.all<TokenRow>(
      `SELECT * FROM bill_spend_tokens WHERE root_id = ? AND id <> ? ORDER BY depth, id${forUpdate(tx)}`,
      [rootId, rootId],
    );
    if (!root) throw new StrataError('E_INTERNAL', `spend token tree ${rootId} has no root`);
    return [root, ...rest];
  }

  /** Locks the tree's ledger accounts (its own, the usage account, and the funding account if asked). */
  async lockAccounts(tx: Transaction, root: TokenRow, funding = true): Promise<Map<string, Account>> {
    const usage = usageAccountId(root.tenant_id, root.currency);
    return this.#ledger.lockAccounts(tx, [
      root.account_id,
      usage,
      ...(funding ? [root.funding_account_id] : []),
    ]);
  }

  /**
   * Writes a reservation of `amount` through `chain` (root first, locked and checked): the pending
   * ledger transfer from the root's account to the usage account, the chain's counters and the
   * reservation row. The conditional UPDATE and the ledger's no-overdraft check back up the checks.
   */
  async hold(
    tx: Transaction,
    at: {
      chain: readonly TokenRow[];
      amount: bigint;
      purchase: Purchase;
      key: string;
      hash: string;
      timeoutMs: number;
      now: number;
    },
  ): Promise<string> {
    const { chain, amount, now } = at;
    const root = chain[0] as TokenRow;
    const token = chain[chain.length - 1] as TokenRow;
    const accounts = await this.lockAccounts(tx, root, root.usage === 'single');
    const debit = accounts.get(root.account_id);
    const credit = accounts.get(usageAccountId(root.tenant_id, root.currency));
    if (!debit || !credit) throw new StrataError('E_INTERNAL', 'spend token accounts missing');
    if (amount > available(debit)) throw limitError(root, 'funds', amount, available(debit));
    const id = newId('spr', now);
    await this.#ledger.holdLocked(tx, {
      id,
      tenantId: root.tenant_id,
      debit,
      credit,
      amount,
      timeoutMs: at.timeoutMs,
      reservationId: id,
      memo: `spend token ${token.id}: ${at.purchase.kind}`,
      now,
    });
    const chainIds = chain.map((r) => r.id);
    const { changes } = await tx.run(
      `UPDATE bill_spend_tokens SET reserved = reserved + CAST(? AS BIGINT)
       WHERE id IN (${placeholders(chainIds.length)}) AND reserved + captured + CAST(? AS BIGINT) <= max_amount`,
      [amount, ...chainIds, amount],
    );
    if (changes !== chain.length) throw limitError(token, 'maxAmount', amount, 0n); // a backstop: the checks under the lock refused this already
    const { purchase } = at;
    await tx.run(
      `INSERT INTO bill_spend_reservations (id, tenant_id, token_id, root_id, chain, idempotency_key, request_hash, amount, currency, kind, price_id, resource_id, status, timeout_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      [
        id,
        root.tenant_id,
        token.id,
        root.id,
        JSON.stringify(chainIds),
        at.key,
        at.hash,
        amount,
        root.currency,
        purchase.kind,
        purchase.priceId ?? null,
        purchase.resourceId ?? null,
        now + at.timeoutMs,
        now,
      ],
    );
    return id;
  }

  /** Settles one pending reservation (accounts and its tree locked) and updates its chain's counters. */
  async settle(tx: Transaction, id: string, how: { kind: Settlement; amount: bigint }): Promise<void> {
    const now = this.#clock.now();
    const row = await tx.get<ReservationRow>('SELECT * FROM bill_spend_reservations WHERE id = ?', [id]);
    const pending = await tx.get<PendingRow>(`SELECT * FROM bill_pending WHERE id = ?${forUpdate(tx)}`, [id]);
    if (!row || !pending) throw new StrataError('E_INTERNAL', `reservation ${id} has no hold`);
    let kind: Settlement = how.kind;
    if (pending.status === 'pending')
      await this.#ledger.settleLocked(tx, pending, {
        kind,
        id: `${id}:${STATUS_OF[how.kind]}`,
        amount: how.amount,
        now,
      });
    else if (how.kind === 'post_pending')
      throw new StrataError('E_CONFLICT', `reservation ${id} expired`, {
        reservationId: id,
        status: 'expired',
      });
    else kind = 'expire_pending'; // the ledger's reaper expired the hold first
    const posted = kind === 'post_pending' ? how.amount : 0n;
    const chain = chainOf(row);
    await tx.run(
      `UPDATE bill_spend_tokens SET reserved = reserved - CAST(? AS BIGINT), captured = captured + CAST(? AS BIGINT)
       WHERE id IN (${placeholders(chain.length)})`,
      [toBig(row.amount), posted, ...chain],
    );
    await tx.run(
      'UPDATE bill_spend_reservations SET status = ?, captured_amount = ?, resolved_at = ? WHERE id = ?',
      [STATUS_OF[kind], posted, now, id],
    );
  }

  /** Expires a tree's overdue reservations (crashed holders) so their room comes back; returns how many. */
  async expireOverdue(rootId: string): Promise<number> {
    const now = this.#clock.now();
    const due = await this.#store.all<{ id: string }>(
      "SELECT id FROM bill_spend_reservations WHERE root_id = ? AND status = 'pending' AND timeout_at <= ?",
      [rootId, now],
    );
    if (due.length === 0) return 0;
    return this.#store.transaction(async (tx) => {
      const tree = await this.lockTree(tx, rootId);
      const root = tree[0] as TokenRow;
      await this.lockAccounts(tx, root);
      const still = await tx.all<{ id: string }>(
        "SELECT id FROM bill_spend_reservations WHERE root_id = ? AND status = 'pending' AND timeout_at <= ?",
        [rootId, now],
      );
      for (const { id } of still) await this.settle(tx, id, { kind: 'expire_pending', amount: 0n });
      if (root.status === 'deactivated') await this.returnRemainder(tx, root);
      return still.length;
    });
  }

  /**
   * Deactivates a token and its active descendants (tree locked). Revoking voids their open
   * reservations and expiry expires them; consuming keeps the one reservation capturable. A root's
   * unspent remainder goes back to the funding account.
   */
  async deactivate(
    tx: Transaction,
    at: { tree: TokenRow[]; target: TokenRow; reason: 'consumed' | 'expired' | 'revoked'; note?: string },
  ): Promise<void> {
    const { tree, target, reason } = at;
    const subtree = tree.filter((r) => r.id === target.id || chainOf(r).includes(target.id)).map((r) => r.id);
    const root = tree.find((r) => r.id === target.root_id);
    if (!root) throw new StrataError('E_INTERNAL', `spend token tree ${target.root_id} has no root`);
    await this.lockAccounts(tx, root, subtree.includes(root.id));
    if (reason !== 'consumed') {
      const open = await tx.all<{ id: string }>(
        `SELECT id FROM bill_spend_reservations WHERE status = 'pending' AND token_id IN (${placeholders(subtree.length)}) ORDER BY id`,
        subtree,
      );
      const kind = reason === 'revoked' ? 'void_pending' : 'expire_pending';
      for (const { id } of open) await this.settle(tx, id, { kind, amount: 0n });
    }
    await tx.run(
      `UPDATE bill_spend_tokens SET status = 'deactivated', deactivated_reason = ?, deactivated_at = ?,
         note = CASE WHEN id = ? THEN ? ELSE note END
       WHERE status = 'active' AND id IN (${placeholders(subtree.length)})`,
      [reason, this.#clock.now(), target.id, at.note ?? null, ...subtree],
    );
    if (subtree.includes(root.id)) await this.returnRemainder(tx, { ...root, status: 'deactivated' });
  }

  /** Sends what a deactivated root's account can still give back to its funding account. */
  async returnRemainder(tx: Transaction, root: TokenRow): Promise<void> {
    const account = await this.#ledger.getAccount(root.tenant_id, root.account_id, tx);
    const left = available(account);
    if (left <= 0n) return;
    const seq = await tx.get<{ returns: number }>('SELECT returns FROM bill_spend_tokens WHERE id = ?', [
      root.id,
    ]);
    const n = Number(seq?.returns ?? 0) + 1;
    await this.#ledger.transfer(
      {
        id: `${root.account_id}:return:${n}`,
        tenantId: root.tenant_id,
        debitAccountId: root.account_id,
        creditAccountId: root.funding_account_id,
        amount: left,
        memo: 'unspent spend token remainder',
      },
      tx,
    );
    await tx.run('UPDATE bill_spend_tokens SET returns = ? WHERE id = ?', [n, root.id]);
  }
}

export type NewToken = TokenTerms &
  Pick<TokenRow, 'id' | 'tenant_id' | 'secret_hash' | 'root_id' | 'parent_id' | 'chain' | 'depth'> &
  Pick<TokenRow, 'account_id' | 'funding_account_id' | 'created_at'>;

/** Inserts an active token. */
export async function insertToken(tx: Transaction, row: NewToken): Promise<void> {
  await tx.run(
    `INSERT INTO bill_spend_tokens (id, tenant_id, secret_hash, root_id, parent_id, chain, depth, account_id, funding_account_id, currency, scope, max_amount, per_use_max, expires_at, usage, status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
    [
      row.id,
      row.tenant_id,
      row.secret_hash,
      row.root_id,
      row.parent_id,
      row.chain,
      row.depth,
      row.account_id,
      row.funding_account_id,
      row.currency,
      row.scope,
      row.max_amount,
      row.per_use_max,
      row.expires_at,
      row.usage,
      row.created_at,
    ],
  );
}
