/**
 * @module kernel/audit/verify
 * Checks a tenant's chain: consecutive sequence numbers from 1, each `prevHash` equal to the hash
 * before it, each hash recomputed from the entry's fields, and the last entry matching the recorded
 * head (so deleting the newest entries is caught too). Reports the first bad entry and why.
 */
import { GENESIS_HASH, hashEntry, type AuditEntry } from './entry.ts';

export type ChainProblem = 'edited' | 'missing' | 'reordered' | 'relinked' | 'truncated' | 'foreign';

export interface ChainVerdict {
  readonly ok: boolean;
  readonly tenantId: string;
  readonly entries: number;
  readonly headHash: string;
  /** The first entry that fails, with what is wrong. */
  readonly firstBad?: {
    readonly seq: number;
    readonly id: string;
    readonly problem: ChainProblem;
    readonly detail: string;
  };
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Verifies entries given in the order they are stored (ascending `seq`). */
export function verifyChain(tenantId: string, entries: Iterable<AuditEntry>, head?: ChainHead): ChainVerdict {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let count = 0;
  const fail = (entry: AuditEntry, problem: ChainProblem, detail: string): ChainVerdict => ({
    ok: false,
    tenantId,
    entries: count,
    headHash: prevHash,
    firstBad: { seq: entry.seq, id: entry.id, problem, detail },
  });
  for (const entry of entries) {
    if (entry.tenantId !== tenantId)
      return fail(entry, 'foreign', `entry belongs to tenant ${entry.tenantId}`);
    if (entry.seq !== expectedSeq) {
      return entry.seq > expectedSeq
        ? fail(entry, 'missing', `expected seq ${expectedSeq}, found ${entry.seq}: entries were deleted`)
        : fail(entry, 'reordered', `seq ${entry.seq} appears after seq ${expectedSeq - 1}`);
    }
    if (entry.prevHash !== prevHash) {
      return fail(entry, 'relinked', `prevHash does not match the hash of seq ${expectedSeq - 1}`);
    }
    if (hashEntry(entry) !== entry.hash)
      return fail(entry, 'edited', 'the entry’s fields do not match its hash');
    prevHash = entry.hash;
    expectedSeq++;
    count++;
  }
  if (head && (head.seq !== count || head.hash !== prevHash)) {
    return {
      ok: false,
      tenantId,
      entries: count,
      headHash: prevHash,
      firstBad: {
        seq: count + 1,
        id: '',
        problem: 'truncated',
        detail: `the chain ends at seq ${count} but its head records seq ${head.seq}: newest entries were deleted or replaced`,
      },
    };
  }
  return { ok: true, tenantId, entries: count, headHash: prevHash };
}
