/**
 * @module mergequeue/migrations
 * Schema of the merge queue, the same logical schema on SQLite and PostgreSQL:
 * - `mq_queues`: one per (tenant, repository, target branch): the check command, batch sizes,
 *   pause flag, main's version and commit, and the fencing token — a worker takes the queue by
 *   bumping `fence` and may move main only while its token is still the current one;
 * - `mq_entries`: changes with their state, reason, files touched, overlap warnings, checks run and
 *   check time attributed to them;
 * - `mq_transitions`: every state change of every entry with its reason (the entry audit trail);
 * - `mq_checks`: every check with its tree, commit, outcome and log;
 * - `mq_advances`: every move of main (version → commit → the check that passed it).
 *
 * Version 2 adds to `mq_queues` the check's network policy (`check_network`, JSON: `"none"` or
 * `{"allow":["host:port",…]}`) and why the queue's worker stopped (`stopped_*`, NULL while it
 * runs): a stopped queue stays stopped — across restarts too — until a person resumes it.
 * Version 3 adds `remote_auth` (JSON `{"credential":…,"username":…}` or NULL): for a queue whose
 * repository is a URL, the vault connection its credentials come from — a name, never the secret.
 */
import type { Migration } from '../kernel/index.ts';

export const MERGEQUEUE_LAYER = 'mergequeue';

export const mergeQueueMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'queues, entries, transitions, checks, advances',
    up: `
      CREATE TABLE mq_queues (
        tenant_id TEXT NOT NULL,
        id TEXT NOT NULL,
        repository TEXT NOT NULL,
        target TEXT NOT NULL,
        check_command TEXT NOT NULL,
        check_timeout_ms BIGINT NOT NULL,
        runtimes TEXT NOT NULL,
        batch_min INTEGER NOT NULL,
        batch_max INTEGER NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        main_version BIGINT NOT NULL,
        main_commit TEXT NOT NULL,
        fence BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE UNIQUE INDEX mq_queues_target ON mq_queues (tenant_id, repository, target);
      CREATE TABLE mq_entries (
        tenant_id TEXT NOT NULL,
        id TEXT NOT NULL,
        queue_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        author TEXT NOT NULL,
        branch TEXT NOT NULL,
        head_commit TEXT NOT NULL,
        priority INTEGER NOT NULL,
        depends_on TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        files TEXT NOT NULL,
        overlap_warnings TEXT NOT NULL,
        conflict_files TEXT,
        failed_check TEXT,
        merged_commit TEXT,
        checks INTEGER NOT NULL DEFAULT 0,
        check_ms BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX mq_entries_queue ON mq_entries (tenant_id, queue_id, state, seq);
      CREATE UNIQUE INDEX mq_entries_change ON mq_entries (tenant_id, queue_id, branch, head_commit);
      CREATE TABLE mq_transitions (
        tenant_id TEXT NOT NULL,
        id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX mq_transitions_entry ON mq_transitions (tenant_id, entry_id, id);
      CREATE TABLE mq_checks (
        tenant_id TEXT NOT NULL,
        id TEXT NOT NULL,
        queue_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        tree TEXT NOT NULL,
        version BIGINT NOT NULL,
        commit_sha TEXT,
        outcome TEXT,
        exit_code INTEGER,
        timed_out INTEGER NOT NULL DEFAULT 0,
        log TEXT,
        started_at BIGINT NOT NULL,
        duration_ms BIGINT,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX mq_checks_queue ON mq_checks (tenant_id, queue_id, started_at);
      CREATE TABLE mq_advances (
        tenant_id TEXT NOT NULL,
        queue_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        commit_sha TEXT NOT NULL,
        check_id TEXT,
        fence BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, queue_id, version)
      );`,
  },
  {
    version: 2,
    name: 'queue network policy and stop reason',
    up: `
      ALTER TABLE mq_queues ADD COLUMN check_network TEXT NOT NULL DEFAULT '"none"';
      ALTER TABLE mq_queues ADD COLUMN stopped_code TEXT;
      ALTER TABLE mq_queues ADD COLUMN stopped_reason TEXT;
      ALTER TABLE mq_queues ADD COLUMN stopped_at BIGINT;`,
  },
  {
    version: 3,
    name: 'remote repository credentials reference',
    up: `ALTER TABLE mq_queues ADD COLUMN remote_auth TEXT;`,
  },
];
