/**
 * Schema of durable runs: the runs table (also the work queue), the journal of step results, and
 * signals. Same logical schema on SQLite and PostgreSQL.
 *
 * `wake_pending` closes the lost-wake-up race without locks: whoever wakes a run (a signal, a child
 * finishing) sets it in one UPDATE, and a run suspending itself reads it in its own single UPDATE,
 * so whichever statement runs second sees the other's write.
 */
import type { Migration } from '../kernel/index.ts';
import { runListingMigration } from './run-query.ts';
import { takeoverMigration } from './takeovers.ts';

export const ORCHESTRATION_LAYER = 'orchestration';

export const orchestrationMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, journal, signals',
    up: `
      CREATE TABLE orch_runs (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        queue TEXT NOT NULL,
        priority INTEGER NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT,
        error TEXT,
        principal TEXT NOT NULL,
        parent_id TEXT,
        root_id TEXT NOT NULL,
        idempotency_key TEXT,
        attempt INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        available_at BIGINT,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        wake_pending INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        timeout_at BIGINT,
        cost_micros BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT,
        UNIQUE (tenant_id, idempotency_key)
      );
      CREATE INDEX orch_runs_ready ON orch_runs (priority DESC, available_at, id) WHERE status IN ('queued', 'waiting');
      CREATE INDEX orch_runs_leased ON orch_runs (lease_expires_at) WHERE status = 'running';
      CREATE INDEX orch_runs_parent ON orch_runs (parent_id);
      CREATE INDEX orch_runs_tenant ON orch_runs (tenant_id, created_at);
      CREATE TABLE orch_journal (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT,
        error TEXT,
        wake_at BIGINT,
        attempts INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT,
        PRIMARY KEY (run_id, seq)
      );
      CREATE TABLE orch_signals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        consumed_seq INTEGER
      );
      CREATE INDEX orch_signals_run ON orch_signals (run_id, name);`,
  },
  {
    version: 2,
    name: 'cron schedules',
    up: `
      CREATE TABLE orch_schedules (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        workflow TEXT NOT NULL,
        input TEXT NOT NULL,
        cron TEXT NOT NULL,
        principal TEXT NOT NULL,
        next_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (tenant_id, name)
      );
      CREATE INDEX orch_schedules_due ON orch_schedules (next_at);`,
  },
  {
    version: 3,
    name: 'rate limits',
    // Token buckets in micro-tokens, refilled lazily on each take: exact across processes because
    // every take locks the bucket row.
    up: `
      CREATE TABLE orch_rate_limits (
        key TEXT PRIMARY KEY,
        capacity_micros BIGINT NOT NULL,
        refill_micros_per_ms BIGINT NOT NULL,
        tokens_micros BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );`,
  },
  {
    version: 4,
    name: 'concurrency limits',
    up: `
      CREATE TABLE orch_limits (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        max_running INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      );`,
  },
  takeoverMigration,
  runListingMigration,
];
