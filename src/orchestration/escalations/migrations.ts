/**
 * Schema of escalations (issue 12), a migration layer of its own so it never collides with the
 * orchestration core's versions. One open item per (tenant, dedup key): the partial unique index
 * lets a resolved item stay in history while a new raise of the same key opens a fresh one.
 * `notify_pending` is an outbox flag: raising is one row write that any code can make inside its
 * own transaction, and the sweeper delivers notifications afterwards (a crash loses none).
 */
import type { Migration, Queryable } from '../../kernel/index.ts';

export const ESCALATIONS_LAYER = 'orchestration.escalations';

export const escalationMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'escalations, routes, dead-letter cursor',
    up: `
      CREATE TABLE orch_escalations (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        severity INTEGER NOT NULL,
        title TEXT NOT NULL,
        detail TEXT,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        count INTEGER NOT NULL,
        bumps INTEGER NOT NULL DEFAULT 0,
        notify_pending INTEGER NOT NULL DEFAULT 1,
        notified_at BIGINT,
        first_at BIGINT NOT NULL,
        last_at BIGINT NOT NULL,
        escalated_at BIGINT NOT NULL,
        acked_by TEXT,
        acked_at BIGINT,
        resolved_by TEXT,
        resolved_at BIGINT
      );
      CREATE UNIQUE INDEX orch_escalations_open ON orch_escalations (tenant_id, dedup_key) WHERE status <> 'resolved';
      CREATE INDEX orch_escalations_tenant ON orch_escalations (tenant_id, status, last_at);
      CREATE INDEX orch_escalations_notify ON orch_escalations (notify_pending) WHERE notify_pending = 1;
      CREATE TABLE orch_escalation_routes (
        tenant_id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        target TEXT,
        mailbox TEXT,
        who TEXT NOT NULL,
        stale_after_ms BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE orch_escalation_cursors (
        name TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        last_id TEXT NOT NULL
      );`,
  },
];

/** Starts the dead-letter cursor at `now` once: runs that failed before escalations existed are history. */
export async function startDeadLetterCursor(q: Queryable, now: number): Promise<void> {
  await q.run(
    `INSERT INTO orch_escalation_cursors (name, at, last_id) VALUES ('dead-letters', ?, '') ON CONFLICT (name) DO NOTHING`,
    [now],
  );
}
