/**
 * @module kernel/audit/entry
 * One audit entry and its hash. Pure code with no store, so an exported log verifies offline with
 * only this file: each entry's `hash` is SHA-256 over the RFC 8785 canonical JSON of every other
 * field, `prevHash` included, so an entry commits to the whole history before it.
 *
 * `runId` and `rootRunId` (the durable run a call was made in, or acted on) came later: they are
 * hashed only when present, so an entry without them hashes exactly as entries written before they
 * existed did, and old chains keep verifying.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// The package is CommonJS (`module.exports = serialize`) with an ES-style `export default` in its
// typings; Node hands us the function as the default import, which TypeScript does not model.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** The `prevHash` of a tenant's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'ok' | 'error' | 'denied';

/** What the pipeline records; the log adds `seq`, `prevHash` and `hash`. */
export interface AuditRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly ts: number;
  readonly principalId: string;
  readonly action: string;
  readonly resource: string;
  readonly outcome: AuditOutcome;
  readonly errorCode: string | null;
  /** The input with secret fields redacted. */
  readonly detail: unknown;
  readonly durationUs: number;
  readonly costMicros: number;
  /** The durable run the call was made in (or, for a call from outside any run, the run it acted on). */
  readonly runId?: string;
  /** The root of that run's tree, when known. */
  readonly rootRunId?: string;
}

export interface AuditEntry extends AuditRecord {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export function hashEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const body = {
    id: entry.id,
    tenantId: entry.tenantId,
    seq: entry.seq,
    ts: entry.ts,
    principalId: entry.principalId,
    action: entry.action,
    resource: entry.resource,
    outcome: entry.outcome,
    errorCode: entry.errorCode,
    detail: entry.detail ?? null,
    durationUs: entry.durationUs,
    costMicros: entry.costMicros,
    prevHash: entry.prevHash,
    // Absent (or null, as a JSON Lines export of another tool may write it) means no run: left out.
    ...(entry.runId == null ? {} : { runId: entry.runId }),
    ...(entry.rootRunId == null ? {} : { rootRunId: entry.rootRunId }),
  };
  return createHash('sha256')
    .update(canonicalize(body) ?? '')
    .digest('hex');
}

export function chainEntry(record: AuditRecord, seq: number, prevHash: string): AuditEntry {
  const unhashed = { ...record, seq, prevHash };
  return { ...unhashed, hash: hashEntry(unhashed) };
}
