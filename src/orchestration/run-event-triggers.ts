/**
 * @module orchestration/run-event-triggers
 * On SQLite, `run:changed` events are written by triggers on `orch_runs`: an insert, or an update
 * that changes `status`, adds the event to the kernel outbox in the same statement. SQLite needs no
 * per-tenant lock (its writers are exclusive), and a trigger keeps every status write one statement:
 * wrapping claims and completions in transactions to publish from code would hold SQLite's write
 * lock across awaits, and two stores of one process on one file then block each other (better-sqlite3
 * waits synchronously). On PostgreSQL the engine publishes from code instead (run-events.ts), last
 * in each transaction, one statement per batch, because a trigger would take the tenant's outbox
 * lock mid-transaction, before the row locks taken after it (a deadlock risk).
 *
 * The payload is the one of `runChangedEvent` (run-events.ts): `json_patch` drops the null members.
 */
import type { Migration } from '../kernel/index.ts';

export const RUN_EVENTS_LAYER = 'orchestration.run_events';

const PAYLOAD = `json_patch(
    json_object('id', NEW.id, 'workflow', NEW.workflow, 'status', NEW.status, 'attempt', NEW.attempt),
    json_object(
      'parentId', NEW.parent_id,
      'rootId', CASE WHEN NEW.root_id <> NEW.id THEN NEW.root_id END,
      'error', json(CASE WHEN NEW.error IS NOT NULL THEN json_object('code', json_extract(NEW.error, '$.code')) END)))`;

const PUBLISH = `INSERT INTO kernel_outbox (topic, tenant_id, payload, ts)
    VALUES ('run:changed', NEW.tenant_id, ${PAYLOAD}, NEW.updated_at);`;

export const runEventMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'run_changed_triggers',
    up: {
      sqlite: `CREATE TRIGGER orch_runs_created AFTER INSERT ON orch_runs BEGIN ${PUBLISH} END;
        CREATE TRIGGER orch_runs_status_changed AFTER UPDATE OF status ON orch_runs
        WHEN NEW.status <> OLD.status BEGIN ${PUBLISH} END;`,
      postgres: 'SELECT 1',
    },
  },
];
