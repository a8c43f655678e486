/**
 * @module kernel/audit/query
 * Filtered, keyset-paged reads of one tenant's audit chain, for an operator looking for something
 * (the dashboard's Audit view, `kernel.audit.list`): by syscall name prefix, outcome, principal and
 * time window, oldest or newest first, resuming after (or before) a seq.
 *
 * The table has no secondary index on purpose (each one would cost every audited commit, see
 * migrations.ts), so a filter walks the tenant's chain in seq order and stops at the page's limit:
 * a filter that matches often is as cheap as an unfiltered page, a rare one reads more rows.
 */
import type { SqlValue } from '../store/store.ts';
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
}

/** The SQL (with `?` placeholders) and parameters selecting one page of a tenant's entries. */
export function auditPageSql(tenantId: string, query: AuditQuery): { sql: string; params: SqlValue[] } {
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
  if (query.since !== undefined) {
    where.push('ts >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('ts < ?');
    params.push(query.until);
  }
  params.push(Math.min(query.limit ?? 100, 1000));
  return {
    sql: `SELECT * FROM kernel_audit WHERE ${where.join(' AND ')} ORDER BY seq${desc ? ' DESC' : ''} LIMIT ?`,
    params,
  };
}
