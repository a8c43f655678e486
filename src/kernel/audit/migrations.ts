/**
 * Schema of the audit log: entries keyed by (tenant, seq), plus each tenant's chain head; since
 * version 2 each entry may name the durable run it belongs to (and that run's root).
 */
import type { Migration } from '../store/store.ts';

export const AUDIT_LAYER = 'kernel.audit';

const COLUMNS = `
  tenant_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  principal_id TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  outcome TEXT NOT NULL,
  error_code TEXT,
  detail TEXT NOT NULL,
  duration_us BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (tenant_id, seq)`;

const HEADS = `CREATE TABLE kernel_audit_heads (tenant_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);`;

export const auditMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'audit entries and heads',
    // One B-tree per entry: on SQLite the table is clustered on (tenant_id, seq) (WITHOUT ROWID) and
    // has no secondary index, because each extra index adds a page to every audited syscall's commit
    // (measured: 37 µs per audited commit with two indexes and a rowid, 18 µs without).
    up: {
      sqlite: `CREATE TABLE kernel_audit (${COLUMNS}) WITHOUT ROWID; ${HEADS}`,
      postgres: `CREATE TABLE kernel_audit (${COLUMNS}); ${HEADS}`,
    },
  },
  {
    version: 2,
    name: 'audit entries of a run',
    // One partial index: a call made outside any run (and every entry written before this version)
    // adds no index page to its commit; a run's Audit section and the `runId` filter read
    // its entries by index in seq order instead of walking the tenant's chain. A call made in a run
    // pays it (measured on SQLite: 2.8 → 4.2 WAL pages per audited commit); a second index for
    // `rootRunId` would cost another 1.5, so that filter walks the chain like the other filters.
    up: `ALTER TABLE kernel_audit ADD COLUMN run_id TEXT;
      ALTER TABLE kernel_audit ADD COLUMN root_run_id TEXT;
      CREATE INDEX kernel_audit_run ON kernel_audit (tenant_id, run_id, seq) WHERE run_id IS NOT NULL;`,
  },
];
