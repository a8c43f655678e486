/**
 * @module orchestration/limits
 * Concurrency limits that hold across every worker: at most `maxRunning` runs at once per tenant,
 * per queue, or per workflow (an agent is a workflow). Runs that match no limit are claimed on the
 * fast path; runs that match one are claimed here, in one transaction that first takes a lock per
 * limit (PostgreSQL advisory locks, in a fixed order; SQLite's single writer needs none), counts
 * what is running, and admits candidates in claim order only while every limit they match has room.
 * So the limits are exact under any number of concurrent workers.
 */
import { StrataError, type Queryable, type Store } from '../kernel/index.ts';

export type LimitScope = 'tenant' | 'queue' | 'workflow';

export interface ConcurrencyLimit {
  readonly scope: LimitScope;
  /** The tenant id, queue name or workflow name. */
  readonly key: string;
  readonly maxRunning: number;
}

const COLUMN: Record<LimitScope, string> = { tenant: 'tenant_id', queue: 'queue', workflow: 'workflow' };

type Candidate = { id: string; tenant_id: string; queue: string; workflow: string };
export type LimitRow = { scope: LimitScope; key: string; max_running: number };

export async function setConcurrencyLimit(store: Store, limit: ConcurrencyLimit): Promise<void> {
  if (!(limit.scope in COLUMN))
    throw new StrataError('E_INVALID_INPUT', `unknown limit scope "${String(limit.scope)}"`);
  if (!Number.isInteger(limit.maxRunning) || limit.maxRunning < 1) {
    throw new StrataError('E_INVALID_INPUT', 'maxRunning must be an integer ≥ 1', {
      maxRunning: limit.maxRunning,
    });
  }
  await store.run(
    `INSERT INTO orch_limits (scope, key, max_running) VALUES (?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET max_running = excluded.max_running`,
    [limit.scope, limit.key, limit.maxRunning],
  );
}

export async function removeConcurrencyLimit(store: Store, scope: LimitScope, key: string): Promise<void> {
  await store.run('DELETE FROM orch_limits WHERE scope = ? AND key = ?', [scope, key]);
}

/** SQL true for a row of `orch_runs` that matches some limit. */
export const MATCHES_A_LIMIT = `EXISTS (SELECT 1 FROM orch_limits l WHERE (l.scope = 'tenant' AND l.key = orch_runs.tenant_id)
  OR (l.scope = 'queue' AND l.key = orch_runs.queue) OR (l.scope = 'workflow' AND l.key = orch_runs.workflow))`;

export async function listLimits(q: Queryable): Promise<LimitRow[]> {
  return q.all<LimitRow>('SELECT scope, key, max_running FROM orch_limits ORDER BY scope, key');
}

/** Locks every limit (in a fixed order) and returns the room each has left. Call inside a transaction. */
export async function lockLimits(tx: Queryable, limits: readonly LimitRow[]): Promise<Map<string, number>> {
  const left = new Map<string, number>();
  for (const limit of limits) {
    if (tx.dialect === 'postgres') {
      await tx.get('SELECT pg_advisory_xact_lock(hashtext(?))', [`orch_limit:${limit.scope}:${limit.key}`]);
    }
    const running = await tx.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM orch_runs WHERE status = 'running' AND ${COLUMN[limit.scope]} = ?`,
      [limit.key],
    );
    left.set(`${limit.scope}:${limit.key}`, limit.max_running - Number(running?.n ?? 0));
  }
  return left;
}

/** From `candidates` in claim order, the ids that fit every limit they match; at most `room`. */
export function admit(left: Map<string, number>, candidates: readonly Candidate[], room: number): string[] {
  const admitted: string[] = [];
  for (const c of candidates) {
    if (admitted.length >= room) break;
    const keys = [`tenant:${c.tenant_id}`, `queue:${c.queue}`, `workflow:${c.workflow}`].filter((k) =>
      left.has(k),
    );
    if (keys.every((k) => (left.get(k) ?? 0) > 0)) {
      for (const k of keys) left.set(k, (left.get(k) ?? 0) - 1);
      admitted.push(c.id);
    }
  }
  return admitted;
}
