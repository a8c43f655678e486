/**
 * @module kernel/audit
 * Tamper-evident audit: an append-only log hash-chained per tenant, verification that names the
 * first bad entry, and a JSON Lines export that verifies offline.
 */
export { AuditLog } from './audit-log.ts';
export {
  GENESIS_HASH,
  chainEntry,
  hashEntry,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecord,
} from './entry.ts';
export {
  EXPORT_FORMAT,
  entryLine,
  headerLine,
  verifyExport,
  writeExport,
  type ExportHeader,
} from './export.ts';
export { AUDIT_LAYER, auditMigrations } from './migrations.ts';
export type { AuditQuery } from './query.ts';
export { verifyChain, type ChainHead, type ChainProblem, type ChainVerdict } from './verify.ts';
