/**
 * @module orchestration/takeovers
 * Deaths, as the store sees them: a worker that claims a run whose lease expired (its owner stopped
 * heartbeating: killed, partitioned, or its event loop blocked past the lease) records one row per
 * takeover — the previous owner, when the lease expired, when it was taken over — in the statement
 * (PostgreSQL) or transaction (SQLite) that claims it. Ordinary claims of queued or waiting runs
 * write nothing more, so the hot path is unchanged; only orphan claims pay one insert each.
 *
 * Detection latency = taken_at − lease_expired_at. The owner's last renewal was at
 * lease_expired_at − lease_ms (lease_ms is the taker's lease, the same setting fleet-wide in
 * practice), so a death happened no earlier than that: "last heartbeat to resume" bounds kill to
 * resume from above.
 */
import type { Migration, Queryable, Store } from '../kernel/index.ts';
import type { RunRow } from './run-row.ts';

export const takeoverMigration: Migration = {
  version: 5,
  name: 'lease takeovers',
  up: `
    CREATE TABLE orch_lease_takeovers (
      run_id TEXT NOT NULL,
      tenant_id TEXT NOT NULL,
      prev_owner TEXT,
      new_owner TEXT NOT NULL,
      lease_expired_at BIGINT NOT NULL,
      taken_at BIGINT NOT NULL,
      lease_ms BIGINT NOT NULL
    );
    CREATE INDEX orch_lease_takeovers_run ON orch_lease_takeovers (run_id, taken_at);
    CREATE INDEX orch_lease_takeovers_tenant ON orch_lease_takeovers (tenant_id, taken_at);`,
};

export interface OrphanClaim {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly now: number;
  readonly limit: number;
  /** `queue IN (…) AND (workflow || ':' || version) IN (…)` and its parameters. */
  readonly scope: { readonly sql: string; readonly params: readonly string[] };
}

const ORPHAN = "status = 'running' AND lease_expires_at < ?";
const ORDER = 'ORDER BY priority DESC, available_at, id';
const CLAIM_SET =
  "status = 'running', lease_owner = ?, lease_expires_at = ?, wake_pending = 0, updated_at = ?";
const INSERT = `INSERT INTO orch_lease_takeovers (run_id, tenant_id, prev_owner, new_owner, lease_expired_at, taken_at, lease_ms)`;

/** Claims up to `limit` runs whose lease expired and records each takeover; returns the claimed rows. */
export function claimOrphans(store: Store, claim: OrphanClaim): Promise<RunRow[]> {
  return store.dialect === 'postgres' ? claimOnPostgres(store, claim) : claimOnSqlite(store, claim);
}

/** One statement: lock the orphans (skipping rows other workers hold), take them, log the takeovers. */
async function claimOnPostgres(q: Queryable, c: OrphanClaim): Promise<RunRow[]> {
  const rows = await q.all<RunRow & { prev_owner: string | null; prev_expiry: number }>(
    `WITH orphans AS (
       SELECT id, lease_owner AS prev_owner, lease_expires_at AS prev_expiry FROM orch_runs
       WHERE ${ORPHAN} AND ${c.scope.sql} ${ORDER} LIMIT ? FOR UPDATE SKIP LOCKED
     ), taken AS (
       UPDATE orch_runs r SET ${CLAIM_SET} FROM orphans o WHERE r.id = o.id
       RETURNING r.*, o.prev_owner, o.prev_expiry
     ), logged AS (
       ${INSERT} SELECT id, tenant_id, prev_owner, ?::text, prev_expiry, ?::bigint, ?::bigint FROM taken
     )
     SELECT * FROM taken`,
    [c.now, ...c.scope.params, c.limit, c.workerId, c.now + c.leaseMs, c.now, c.workerId, c.now, c.leaseMs],
  );
  return rows.map(({ prev_owner: _owner, prev_expiry: _expiry, ...row }) => row);
}

/** SQLite serialises writers: read the orphans, take them (re-checking), log, in one transaction. */
function claimOnSqlite(store: Store, c: OrphanClaim): Promise<RunRow[]> {
  return store.transaction(async (tx) => {
    const orphans = await tx.all<{ id: string; lease_owner: string | null; lease_expires_at: number }>(
      `SELECT id, lease_owner, lease_expires_at FROM orch_runs WHERE ${ORPHAN} AND ${c.scope.sql} ${ORDER} LIMIT ?`,
      [c.now, ...c.scope.params, c.limit],
    );
    if (orphans.length === 0) return [];
    const taken = await tx.all<RunRow>(
      `UPDATE orch_runs SET ${CLAIM_SET} WHERE ${ORPHAN} AND id IN (${orphans.map(() => '?').join(', ')}) RETURNING *`,
      [c.workerId, c.now + c.leaseMs, c.now, c.now, ...orphans.map((o) => o.id)],
    );
    const before = new Map(orphans.map((o) => [o.id, o]));
    if (taken.length > 0)
      await tx.run(
        `${INSERT} VALUES ${taken.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        taken.flatMap((row) => {
          const prev = before.get(row.id);
          return [
            row.id,
            row.tenant_id,
            prev?.lease_owner ?? null,
            c.workerId,
            Number(prev?.lease_expires_at ?? c.now),
            c.now,
            c.leaseMs,
          ];
        }),
      );
    return taken;
  });
}
