/**
 * @module kernel/auth/migrations
 * Schema of the `kernel.auth` layer: tenants, API keys, agents, token-signing keys, issued tokens and
 * token revocations. The SQL is portable (the same text runs on SQLite and PostgreSQL): TEXT ids,
 * BIGINT epoch-ms timestamps, JSON as TEXT.
 *
 * Why the odd unique index on signing keys: it allows at most one active (non-retired) key, so two
 * processes that start at once against an empty table cannot both create one; the loser gets
 * E_CONFLICT and loads the winner's key instead.
 */
import type { Migration, Store, MigrationReport } from '../store/store.ts';

export const AUTH_LAYER = 'kernel.auth';

export const authMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'principals and capabilities',
    up: `
      CREATE TABLE kernel_tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE kernel_api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES kernel_tenants (id),
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        grants TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE INDEX kernel_api_keys_tenant ON kernel_api_keys (tenant_id, created_at);
      CREATE TABLE kernel_agents (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES kernel_tenants (id),
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (tenant_id, name)
      );
      CREATE TABLE kernel_signing_keys (
        kid TEXT PRIMARY KEY,
        public_jwk TEXT NOT NULL,
        private_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE UNIQUE INDEX kernel_signing_keys_one_active
        ON kernel_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
      CREATE TABLE kernel_tokens (
        jti TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES kernel_tenants (id),
        subject TEXT NOT NULL,
        parent_jti TEXT,
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX kernel_tokens_tenant ON kernel_tokens (tenant_id, issued_at);
      CREATE INDEX kernel_tokens_parent ON kernel_tokens (parent_jti);
      CREATE TABLE kernel_token_revocations (
        jti TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES kernel_tenants (id),
        revoked_at BIGINT NOT NULL,
        reason TEXT NOT NULL
      )
    `,
  },
];

/** Applies the auth schema; idempotent and safe to call from several processes at once. */
export function migrateAuth(store: Store): Promise<MigrationReport> {
  return store.migrate(AUTH_LAYER, authMigrations);
}
