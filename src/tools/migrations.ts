/**
 * Schema of the tools layer, the same on SQLite and PostgreSQL:
 * - `tools_vault_keys`: one data key per tenant, sealed by the master key (envelope encryption:
 *   rotating the master key re-seals these rows only, never the secrets).
 * - `tools_connections`: vault entries. `sealed` holds the secret fields sealed by the tenant's
 *   data key; `meta` holds what is not secret (header name, token URL, client id, expiry).
 *   `owner` is `''` for a tenant-wide connection, else the principal id of a connected account.
 * - `tools_sources`: registered MCP servers and OpenAPI connectors (their config, never secrets:
 *   credentials are referenced by connection name).
 */
import type { Migration } from '../kernel/index.ts';

export const TOOLS_LAYER = 'tools';

export const toolsMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'vault and sources',
    up: `
      CREATE TABLE tools_vault_keys (
        tenant_id TEXT PRIMARY KEY,
        sealed_key TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE tools_connections (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        kind TEXT NOT NULL,
        sealed TEXT NOT NULL,
        meta TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (tenant_id, name, owner)
      );
      CREATE TABLE tools_sources (
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, name)
      );`,
  },
];
