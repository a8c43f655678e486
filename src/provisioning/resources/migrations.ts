/**
 * Schema of the provisioner: one row per resource (its state, the driver's handle, the non-secret
 * env; secrets live in the vault) and the timestamped history of its transitions. Same logical
 * schema on SQLite and PostgreSQL.
 *
 * A name is unique per tenant among resources that still hold one (not destroyed, not failed), so a
 * destroyed database's name can be reused; an idempotency key is unique per tenant forever, so a
 * retried provision finds the resource it made, whatever became of it.
 */
import type { Migration } from '../../kernel/index.ts';

export const RESOURCES_LAYER = 'resources';

export const resourceMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'resources and transitions',
    up: `
      CREATE TABLE prov_resources (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        config TEXT NOT NULL,
        labels TEXT NOT NULL,
        handle TEXT NOT NULL,
        env TEXT NOT NULL,
        subject TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        idle_ms BIGINT NOT NULL,
        expires_at BIGINT,
        last_used_at BIGINT NOT NULL,
        ready_since BIGINT,
        transitions INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE UNIQUE INDEX prov_resources_key ON prov_resources (tenant_id, idempotency_key);
      CREATE UNIQUE INDEX prov_resources_live_name ON prov_resources (tenant_id, name)
        WHERE state NOT IN ('destroyed', 'failed');
      CREATE INDEX prov_resources_state ON prov_resources (state, updated_at);
      CREATE TABLE prov_transitions (
        resource_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        tenant_id TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (resource_id, seq)
      );
    `,
  },
  {
    version: 2,
    name: 'sealed resource secrets',
    up: `
      CREATE TABLE prov_secrets (
        tenant_id TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        sealed TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, resource_id)
      );
    `,
  },
];
