/**
 * @module memory/migrations
 * Schema of the memory layer, the same logical schema on SQLite and PostgreSQL:
 * - `mem_items`: memories (facts and raw messages) with scope, validity, slot, entities and the
 *   vector (float32 little-endian bytes) of the embedder named in `embedder`;
 * - `mem_history`: every change to every memory (ADD/UPDATE/DELETE) with source message ids;
 * - `mem_revs`: a per-tenant revision counter. Every write bumps it inside its transaction and stamps
 *   the rows it touches, so a process's in-memory search index catches up by reading only rows with
 *   a newer revision (the row lock on PostgreSQL orders writers of one tenant, so revisions commit
 *   in order).
 */
import type { Migration } from '../kernel/index.ts';

export const MEMORY_LAYER = 'memory';

export const memoryMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'items, history, revisions',
    up: {
      sqlite: sql('BLOB'),
      postgres: sql('BYTEA'),
    },
  },
];

function sql(bytes: string): string {
  return `
    CREATE TABLE mem_items (
      tenant_id TEXT NOT NULL,
      id TEXT NOT NULL,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      user_id TEXT,
      agent_id TEXT,
      run_id TEXT,
      text TEXT NOT NULL,
      speaker TEXT,
      sources TEXT NOT NULL,
      subject TEXT,
      predicate TEXT,
      object TEXT,
      entities TEXT NOT NULL,
      metadata TEXT NOT NULL,
      hash TEXT NOT NULL,
      embedder TEXT NOT NULL,
      vector ${bytes},
      seq BIGINT NOT NULL,
      event_at BIGINT NOT NULL,
      valid_from BIGINT NOT NULL,
      valid_to BIGINT,
      superseded_by TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      rev BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX mem_items_rev ON mem_items (tenant_id, rev);
    CREATE INDEX mem_items_scope ON mem_items (tenant_id, user_id, agent_id, run_id, kind, seq);
    CREATE INDEX mem_items_hash ON mem_items (tenant_id, hash);
    CREATE INDEX mem_items_slot ON mem_items (tenant_id, subject, predicate) WHERE status = 'active';
    CREATE TABLE mem_history (
      tenant_id TEXT NOT NULL,
      id TEXT NOT NULL,
      memory_id TEXT NOT NULL,
      event TEXT NOT NULL,
      old_text TEXT,
      new_text TEXT,
      sources TEXT NOT NULL,
      reason TEXT NOT NULL,
      at BIGINT NOT NULL,
      PRIMARY KEY (tenant_id, id)
    );
    CREATE INDEX mem_history_memory ON mem_history (tenant_id, memory_id, id);
    CREATE TABLE mem_revs (
      tenant_id TEXT PRIMARY KEY,
      rev BIGINT NOT NULL
    );`;
}
