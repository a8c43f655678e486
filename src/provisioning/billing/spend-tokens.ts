/**
 * @module provisioning/billing/spend-tokens
 * Spend tokens, after Stripe's shared payment tokens: a secret an agent presents to pay for what it
 * provisions, capped (`maxAmount`, `perUseMax`), scoped (resource kinds, price ids or one resource),
 * dated (`expiresAt`), single- or multi-use, and revocable.
 *
 * Glossary
 * - **Root token**: issued by the tenant. At issue its own `no_overdraft` ledger account (kind
 *   `holds`) is funded with `maxAmount` from the funding account (the tenant's `allocation` by
 *   default), so the ledger's no-overdraft rule is the last guard; when the root is deactivated the
 *   unspent remainder goes back, now and after each later settlement.
 * - **Narrowed (child) token**: made by a holder from a secret; its scope, `maxAmount` (≤ the parent's
 *   remaining), `perUseMax`, `expiresAt` and usage only narrow the parent's (a widening is
 *   `E_ATTENUATION`, nothing is created; another currency is `E_CURRENCY_MISMATCH`). A child has no
 *   money of its own: it spends from the root's account and every redemption counts against every
 *   ancestor too, so siblings together never spend more than their parent.
 * - **Reservation**: a redemption, one pending ledger transfer (token account → the tenant's `usage`
 *   account) then `capture` (post all or part; the rest is released) or `void`. A hold lives
 *   `reservationTimeoutMs` but never past the token's `expiresAt`, then expires (reaper or the next
 *   reservation): a token cannot be spent after it expires, even through an older hold.
 * - **Single use** means one reservation: the token is `consumed` when it is reserved; voiding that
 *   reservation does not give the use back (no window in which a second redemption could slip in).
 * - **Expiry** is exact: at `now >= expiresAt` the token is expired (reported so at once; `expireDue`
 *   records it and returns the remainder).
 *
 * Concurrency: every change to a token tree first locks its root row (`FOR UPDATE`; SQLite has one
 * writer), then the other token rows, then ledger accounts, then pending rows — one order, so no
 * deadlock. Under that lock a reservation checks each token of its chain (active, scope, perUseMax,
 * reserved + captured + amount ≤ maxAmount) and writes the hold, the counters and its row in one
 * transaction; a CHECK constraint on the counters and the ledger's no-overdraft rule back it up.
 *
 * The secret (`spt_` + 32 random bytes, base64url) is returned once; only its SHA-256 is stored and
 * it is looked up by that hash. No constant-time compare is needed: timing can only tell about the
 * hash, which gives nothing toward a secret with 256 bits of entropy.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../kernel/clock.ts';
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { Store } from '../../kernel/index.ts';
import { allocationAccountId, usageAccountId } from './budgets.ts';
import { reservationTransaction } from './chaos-conflict.ts';
import type { Ledger } from './ledger.ts';
import { formatMicros, parseMoney } from './money.ts';
import { SPEND_TOKENS_LAYER, spendTokenMigrations } from './spend-token-migrations.ts';
import { chainOf, insertToken, SpendTokenTrees, STATUS_OF } from './spend-token-trees.ts';
import {
  checkActive,
  checkIssue,
  checkNarrow,
  checkPurchase,
  checkRoom,
  hashSecret,
  invalidToken,
  looksLikeSecret,
  toInfo,
  toReservation,
  type IssueSpendTokenInput,
  type NarrowSpendTokenInput,
  type ReservationRow,
  type ReserveInput,
  type SpendReservation,
  type SpendTokenInfo,
  type TokenRow,
} from './spend-token-rules.ts';

export type {
  DeactivatedReason,
  IssueSpendTokenInput,
  NarrowSpendTokenInput,
  Purchase,
  ReserveInput,
  SpendReservation,
  SpendTokenInfo,
  SpendTokenScope,
  SpendTokenUsage,
} from './spend-token-rules.ts';

export interface SpendTokensOptions {
  readonly store: Store;
  readonly ledger: Ledger;
  /** @default the ledger's clock */
  readonly clock?: Clock;
  /** The account that funds root tokens and gets their remainders back. @default the tenant's allocation */
  readonly fundingAccount?: (tenantId: string, currency: string) => string;
  /** Lifetime of a reservation's hold (never past the token's expiresAt). @default 600000 */
  readonly reservationTimeoutMs?: number;
}

/** A new secret and the token info; the secret is shown this once. */
export interface IssuedSpendToken {
  readonly token: string;
  readonly info: SpendTokenInfo;
}

export class SpendTokens {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  readonly #funding: (tenantId: string, currency: string) => string;
  readonly #trees: SpendTokenTrees;
  readonly reservationTimeoutMs: number;

  constructor(options: SpendTokensOptions) {
    this.#store = options.store;
    this.#ledger = options.ledger;
    this.#clock = options.clock ?? options.ledger.clock;
    this.#funding = options.fundingAccount ?? allocationAccountId;
    this.reservationTimeoutMs = options.reservationTimeoutMs ?? 600_000;
    this.#trees = new SpendTokenTrees({ store: this.#store, ledger: this.#ledger, clock: this.#clock });
  }

  /** Migrates the `spend_tokens` layer (the billing layer must be migrated first) and constructs. */
  static async open(options: SpendTokensOptions): Promise<SpendTokens> {
    await options.store.migrate(SPEND_TOKENS_LAYER, spendTokenMigrations);
    return new SpendTokens(options);
  }

  /** Issues a root token funded from the tenant's funding account. */
  async issue(tenantId: string, input: IssueSpendTokenInput): Promise<IssuedSpendToken> {
    const now = this.#clock.now();
    const fields = checkIssue(input, now);
    const id = newId('stok', now);
    const token = `spt_${randomBytes(32).toString('base64url')}`;
    const accountId = `${tenantId}:spend_token:${id}`;
    const funding = this.#funding(tenantId, fields.currency);
    await this.#store.transaction(async (tx) => {
      const ledger = this.#ledger;
      if (funding === allocationAccountId(tenantId, fields.currency))
        await ledger.openAccount(
          { id: funding, tenantId, kind: 'allocation', currency: fields.currency },
          tx,
        );
      const usage = usageAccountId(tenantId, fields.currency);
      await ledger.openAccount({ id: usage, tenantId, kind: 'usage', currency: fields.currency }, tx);
      const account = { id: accountId, tenantId, currency: fields.currency, flags: 'no_overdraft' as const };
      await ledger.openAccount({ ...account, kind: 'holds' }, tx);
      await ledger.transfer(
        {
          id: `${accountId}:fund`,
          tenantId,
          debitAccountId: funding,
          creditAccountId: accountId,
          amount: fields.max_amount,
          memo: 'fund spend token',
        },
        tx,
      );
      await insertToken(tx, {
        ...fields,
        id,
        tenant_id: tenantId,
        secret_hash: hashSecret(token),
        root_id: id,
        parent_id: null,
        chain: '[]',
        depth: 0,
        account_id: accountId,
        funding_account_id: funding,
        created_at: now,
      });
    });
    return { token, info: await this.inspect(tenantId, id) };
  }

  /** A token by id (`E_NOT_FOUND`) or by secret (`E_SPEND_TOKEN_INVALID` when unknown). */
  async inspect(tenantId: string, idOrSecret: string): Promise<SpendTokenInfo> {
    if (looksLikeSecret(idOrSecret))
      return toInfo(await this.#trees.bySecret(tenantId, idOrSecret), this.#clock.now());
    const row = await this.#store.get<TokenRow>(
      'SELECT * FROM bill_spend_tokens WHERE id = ? AND tenant_id = ?',
      [idOrSecret, tenantId],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no spend token ${idOrSecret}`, { tokenId: idOrSecret });
    return toInfo(row, this.#clock.now());
  }

  /** The tenant's tokens, newest first, optionally only active or deactivated ones. */
  async list(
    tenantId: string,
    options: { status?: 'active' | 'deactivated'; limit?: number } = {},
  ): Promise<SpendTokenInfo[]> {
    const now = this.#clock.now();
    const filter = {
      active: " AND status = 'active' AND expires_at > ?",
      deactivated: " AND (status = 'deactivated' OR expires_at <= ?)",
    };
    const rows = await this.#store.all<TokenRow>(
      `SELECT * FROM bill_spend_tokens WHERE tenant_id = ?${options.status ? filter[options.status] : ''} ORDER BY id DESC LIMIT ?`,
      [tenantId, ...(options.status ? [now] : []), Math.min(Math.max(options.limit ?? 100, 1), 1000)],
    );
    return rows.map((row) => toInfo(row, now));
  }

  /** A new child token whose every limit is at most its parent's (the parent stays as it is). */
  async narrow(tenantId: string, secret: string, input: NarrowSpendTokenInput): Promise<IssuedSpendToken> {
    const parent = await this.#trees.bySecret(tenantId, secret);
    const now = this.#clock.now();
    const id = newId('stok', now);
    const token = `spt_${randomBytes(32).toString('base64url')}`;
    await this.#store.transaction(async (tx) => {
      const chain = await this.#trees.lockChain(tx, parent);
      for (const row of chain) checkActive(row, now);
      const locked = chain[chain.length - 1] as TokenRow;
      await insertToken(tx, {
        ...checkNarrow(locked, input, now),
        id,
        tenant_id: tenantId,
        secret_hash: hashSecret(token),
        root_id: locked.root_id,
        parent_id: locked.id,
        chain: JSON.stringify([...chainOf(locked), locked.id]),
        depth: Number(locked.depth) + 1,
        account_id: locked.account_id,
        funding_account_id: locked.funding_account_id,
        created_at: now,
      });
    });
    return { token, info: await this.inspect(tenantId, id) };
  }

  /** Revokes a token and its descendants, voiding their open reservations; idempotent. */
  async revoke(tenantId: string, id: string, note?: string): Promise<SpendTokenInfo> {
    if (looksLikeSecret(id)) throw invalidToken(); // by id only: the id is the call's audited resource
    const target = await this.inspect(tenantId, id);
    await this.#store.transaction(async (tx) => {
      const tree = await this.#trees.lockTree(tx, target.rootId);
      const row = tree.find((r) => r.id === id);
      if (row?.status === 'active')
        await this.#trees.deactivate(tx, { tree, target: row, reason: 'revoked', note: note?.slice(0, 500) });
    });
    return this.inspect(tenantId, id);
  }

  /** Holds `amount` for a purchase; the same idempotency key returns the same reservation. */
  async reserve(tenantId: string, input: ReserveInput): Promise<SpendReservation> {
    const purchase = checkPurchase(input);
    const token = await this.#trees.bySecret(tenantId, input.secret);
    if (input.currency !== undefined && input.currency !== token.currency)
      throw new StrataError('E_CURRENCY_MISMATCH', `this spend token is in ${token.currency}`, {
        currencies: [token.currency, String(input.currency)],
      });
    const amount = parseMoney(input.amount, token.currency).micros;
    if (amount === 0n)
      throw new StrataError('E_INVALID_MONEY', 'a reservation amount must be positive', { amount: '0' });
    const hash = createHash('sha256')
      .update(JSON.stringify({ amount: String(amount), ...purchase }))
      .digest('base64url');
    await this.#trees.expireOverdue(token.root_id);
    const now = this.#clock.now();
    const accountIds = [token.account_id, usageAccountId(tenantId, token.currency)];
    try {
      return await reservationTransaction(this.#store, accountIds, async (tx) => {
        const chain = await this.#trees.lockChain(tx, token);
        const existing = await tx.get<ReservationRow>(
          'SELECT * FROM bill_spend_reservations WHERE token_id = ? AND idempotency_key = ?',
          [token.id, input.idempotencyKey],
        );
        if (existing) {
          if (existing.request_hash !== hash)
            throw new StrataError('E_CONFLICT', 'this idempotency key was used for another reservation', {
              reservationId: existing.id,
            });
          return toReservation(existing);
        }
        for (const row of chain) checkActive(row, now);
        for (const row of chain) checkRoom(row, amount, purchase);
        const expiresAt = Math.min(...chain.map((r) => Number(r.expires_at)));
        const id = await this.#trees.hold(tx, {
          chain,
          amount,
          purchase,
          key: input.idempotencyKey,
          hash,
          timeoutMs: Math.min(this.reservationTimeoutMs, expiresAt - now),
          now,
        });
        const single = chain.find((r) => r.usage === 'single');
        if (single) {
          const tree = await tx.all<TokenRow>('SELECT * FROM bill_spend_tokens WHERE root_id = ?', [
            token.root_id,
          ]);
          await this.#trees.deactivate(tx, { tree, target: single, reason: 'consumed' });
        }
        return this.#trees.reservation(tenantId, id, tx);
      });
    } catch (error) {
      // An expired token found here is recorded (and its remainder returned) at once.
      if (error instanceof StrataError && error.code === 'E_SPEND_TOKEN_INACTIVE')
        await this.#expireTokens('root_id = ?', [token.root_id]);
      throw error;
    }
  }

  /** Posts `amount` (at most what was reserved) of a reservation; the rest is released. */
  capture(tenantId: string, reservationId: string, amount: string): Promise<SpendReservation> {
    return this.#resolve(tenantId, reservationId, { kind: 'post_pending', amount });
  }

  /** Releases a reservation's whole hold; idempotent. */
  void(tenantId: string, reservationId: string): Promise<SpendReservation> {
    return this.#resolve(tenantId, reservationId, { kind: 'void_pending' });
  }

  async getReservation(tenantId: string, id: string): Promise<SpendReservation> {
    return this.#trees.reservation(tenantId, id);
  }

  /** The reaper: expires overdue reservations and records expired tokens (returning remainders). */
  async expireDue(limit = 100): Promise<{ reservations: number; tokens: number }> {
    const now = this.#clock.now();
    const roots = await this.#store.all<{ root_id: string }>(
      "SELECT DISTINCT root_id FROM bill_spend_reservations WHERE status = 'pending' AND timeout_at <= ? LIMIT ?",
      [now, limit],
    );
    let reservations = 0;
    for (const { root_id } of roots) reservations += await this.#trees.expireOverdue(root_id);
    const tokens = await this.#expireTokens('1 = 1', [], limit);
    return { reservations, tokens };
  }

  /** Records the expiry of active tokens past their expiresAt (matching `where`); returns how many. */
  async #expireTokens(where: string, params: readonly string[], limit = 100): Promise<number> {
    const now = this.#clock.now();
    const due = await this.#store.all<{ id: string; root_id: string }>(
      `SELECT id, root_id FROM bill_spend_tokens WHERE ${where} AND status = 'active' AND expires_at <= ? ORDER BY depth, id LIMIT ?`,
      [...params, now, limit],
    );
    let expired = 0;
    for (const { id, root_id } of due)
      await this.#store.transaction(async (tx) => {
        const tree = await this.#trees.lockTree(tx, root_id);
        const target = tree.find((r) => r.id === id);
        if (target?.status !== 'active' || Number(target.expires_at) > now) return;
        await this.#trees.deactivate(tx, { tree, target, reason: 'expired' });
        expired++;
      });
    return expired;
  }

  async #resolve(
    tenantId: string,
    reservationId: string,
    how: { kind: 'post_pending' | 'void_pending'; amount?: string },
  ): Promise<SpendReservation> {
    const before = await this.#trees.reservation(tenantId, reservationId, this.#store);
    const posted = how.amount === undefined ? 0n : parseMoney(how.amount, before.currency).micros;
    if (before.status === 'pending' && before.expiresAt <= this.#clock.now())
      await this.#trees.expireOverdue(before.rootId);
    return this.#store.transaction(async (tx) => {
      const tree = await this.#trees.lockTree(tx, before.rootId);
      const current = await this.#trees.reservation(tenantId, reservationId, tx);
      const wanted = STATUS_OF[how.kind];
      if (current.status === wanted && (how.kind === 'void_pending' || current.capturedAmount === posted))
        return current;
      if (current.status !== 'pending')
        throw new StrataError('E_CONFLICT', `reservation ${reservationId} is already ${current.status}`, {
          reservationId,
          status: current.status,
        });
      if (posted > current.amount)
        throw new StrataError('E_SPEND_TOKEN_LIMIT', 'a capture is at most the reserved amount', {
          limit: 'reservation',
          reserved: formatMicros(current.amount, current.currency),
          requested: formatMicros(posted, current.currency),
        });
      const root = tree[0] as TokenRow;
      await this.#trees.lockAccounts(tx, root);
      await this.#trees.settle(tx, reservationId, { kind: how.kind, amount: posted });
      if (root.status === 'deactivated') await this.#trees.returnRemainder(tx, root);
      return this.#trees.reservation(tenantId, reservationId, tx);
    });
  }
}
