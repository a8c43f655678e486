/**
 * Schema of the task board: one row per task. `version` is bumped by every change, so each change
 * is a compare-and-swap (`WHERE version = ?`) decided after reading the row: of many concurrent
 * claims of one task exactly one matches, on both dialects.
 */
import type { Migration } from '../../kernel/index.ts';

export const TASKS_LAYER = 'orchestration.tasks';

export const taskMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'task board',
    up: `
      CREATE TABLE orch_tasks (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        key TEXT NOT NULL,
        title TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        holder_run TEXT,
        holder_incarnation INTEGER,
        displaced_run TEXT,
        claims INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        version INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        claimed_at BIGINT,
        completed_at BIGINT,
        updated_at BIGINT NOT NULL,
        UNIQUE (tenant_id, key)
      );
      CREATE INDEX orch_tasks_tenant ON orch_tasks (tenant_id, status, id);`,
  },
];
