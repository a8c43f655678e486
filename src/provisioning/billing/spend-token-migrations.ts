/**
 * Schema of spend tokens, a layer of its own (`spend_tokens`) beside the billing core, whose ledger
 * tables it uses but never changes. Amounts are BIGINT micro-units.
 *
 * - `bill_spend_tokens`: one row per token, root or narrowed child. Only the SHA-256 of the secret is
 *   kept. `chain` lists the ancestors (root first) as JSON; every token of a tree shares the root's
 *   ledger account. The CHECK makes overspending a token impossible even for a buggy caller:
 *   reserved plus captured never exceeds `max_amount`.
 * - `bill_spend_reservations`: one row per redemption (a pending ledger transfer with the same id),
 *   unique per (token, idempotency key) so a replay finds the original instead of holding twice.
 */
import type { Migration } from '../../kernel/index.ts';

export const SPEND_TOKENS_LAYER = 'spend_tokens';

export const spendTokenMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'spend tokens and their reservations',
    up: `
      CREATE TABLE bill_spend_tokens (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        root_id TEXT NOT NULL,
        parent_id TEXT,
        chain TEXT NOT NULL,
        depth INTEGER NOT NULL,
        account_id TEXT NOT NULL,
        funding_account_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        scope TEXT NOT NULL,
        max_amount BIGINT NOT NULL,
        per_use_max BIGINT,
        expires_at BIGINT NOT NULL,
        usage TEXT NOT NULL,
        status TEXT NOT NULL,
        deactivated_reason TEXT,
        deactivated_at BIGINT,
        note TEXT,
        reserved BIGINT NOT NULL DEFAULT 0,
        captured BIGINT NOT NULL DEFAULT 0,
        returns INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        CHECK (max_amount > 0 AND reserved >= 0 AND captured >= 0 AND reserved + captured <= max_amount)
      );
      CREATE INDEX bill_spend_tokens_tenant ON bill_spend_tokens (tenant_id, id);
      CREATE INDEX bill_spend_tokens_root ON bill_spend_tokens (root_id);
      CREATE INDEX bill_spend_tokens_due ON bill_spend_tokens (expires_at) WHERE status = 'active';
      CREATE TABLE bill_spend_reservations (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        token_id TEXT NOT NULL,
        root_id TEXT NOT NULL,
        chain TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        kind TEXT NOT NULL,
        price_id TEXT,
        resource_id TEXT,
        status TEXT NOT NULL,
        captured_amount BIGINT NOT NULL DEFAULT 0,
        timeout_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        resolved_at BIGINT,
        UNIQUE (token_id, idempotency_key)
      );
      CREATE INDEX bill_spend_reservations_open ON bill_spend_reservations (root_id, timeout_at) WHERE status = 'pending';`,
  },
];
