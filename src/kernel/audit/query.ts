/**
 * @module kernel/audit/query
 * Filtered, keyset-paged reads of one tenant's audit chain, for an operator looking for something
 * (the dashboard's Audit view, `kernel.audit.list`): by syscall name prefix, outcome, principal and
 * time window, and by durable run (one run, or every run of a root's tree), oldest or newest first,
 * resuming after (or before) a seq.
 *
 * Only the run filter has an index (partial, on entries of a run: see migrations.ts); the others
 * walk the tenant's chain (or the run's entries) in seq order and stop at the page's limit: a filter
 * that matches often is as cheap as an unfiltered page, a rare one reads more rows.
 */
import type { Dialect, SqlValue } from '../store/store.ts';
import type { AuditOutcome } from './entry.ts';

export interface AuditQuery {
  /** Entries after this seq (oldest first) — or, newest first, entries before `beforeSeq`. */
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  /** @default 'asc' */
  readonly order?: 'asc' | 'desc';
  /** @default 100, at most 1000 */
  readonly limit?: number;
  /** Syscall name prefix: `runs.` matches every runs syscall, `runs.cancel` that one (and longer names). */
  readonly action?: string;
  readonly outcome?: AuditOutcome;
  readonly principalId?: string;
  /** Time window in epoch ms: `since` inclusive, `until` exclusive. */
  readonly since?: number;
  readonly until?: number;
  /** Entries of this run: made in it, or (from outside any run) acting on it. */
  readonly runId?: string;
  /** Entries of every run in the tree of this root run, the root included. */
  readonly rootRunId?: string;
}

/** The SQL (with `?` placeholders) and parameters selecting one page of a tenant's entries. */
export function auditPageSql(
  tenantId: string,
  query: AuditQuery,
  dialect: Dialect,
): { sql: string; params: SqlValue[] } {
  const desc = query.order === 'desc';
  const where = ['tenant_id = ?'];
  const params: SqlValue[] = [tenantId];
  if (desc) {
    if (query.beforeSeq !== undefined) {
      where.push('seq < ?');
      params.push(query.beforeSeq);
    }
  } else {
    where.push('seq > ?');
    params.push(query.afterSeq ?? 0);
  }
  if (query.action !== undefined && query.action !== '') {
    // substr instead of LIKE: no wildcard to escape, and the same case-sensitive match on both engines.
    where.push(`substr(action, 1, ${query.action.length}) = ?`);
    params.push(query.action);
  }
  if (query.outcome !== undefined) {
    where.push('outcome = ?');
    params.push(query.outcome);
  }
  if (query.principalId !== undefined && query.principalId !== '') {
    where.push('principal_id = ?');
    params.push(query.principalId);
  }
  for (const [column, run] of [
    ['run_id', query.runId],
    ['root_run_id', query.rootRunId],
  ] as const) {
    if (run === undefined) continue;
    where.push(`${column} = ?`);
    params.push(run);
  }
  if (query.since !== undefined) {
    where.push('ts >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('ts < ?');
    params.push(query.until);
  }
  params.push(Math.min(query.limit ?? 100, 1000));
  // Without statistics SQLite walks the primary key for `ORDER BY seq` even when a run is named
  // (the index lookup costs it a second B-tree search per row); a run's few entries among a long
  // chain are what the index is for. PostgreSQL picks it by itself.
  const table =
    query.runId !== undefined && dialect === 'sqlite'
      ? 'kernel_audit INDEXED BY kernel_audit_run'
      : 'kernel_audit';
  return {
    sql: `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY seq${desc ? ' DESC' : ''} LIMIT ?`,
    params,
  };
}
