/**
 * @module orchestration/fleet-snapshot/workers
 * Workers and their leases for a fleet snapshot. A worker is known two ways: its deployment rows
 * (one per workflow version it runs, refreshed every third of their TTL while it lives, deleted
 * when it stops; deployments.ts), and the leases it holds on running runs (worker.ts). A killed
 * worker keeps both until they expire: its rows go stale and its leases run out, and the runs wait
 * for a takeover (takeovers.ts) — the "expired leases" an operator should see shrink to 0.
 *
 * Workers are shared by every tenant: the list shows each live worker, but leases and takeovers
 * are the caller's tenant's only.
 */
import type { Store } from '../../kernel/index.ts';
import { SNAPSHOT_WINDOW_MS, TOP_WORKERS, WORKER_LIVE_MS, type FleetSnapshot } from './types.ts';

type Worker = FleetSnapshot['workers']['list'][number];

export async function workersAndLeases(
  store: Store,
  tenantId: string,
  now: number,
): Promise<FleetSnapshot['workers']> {
  // A small table: one row per (workflow version, worker), stale rows pruned by the workers.
  const seen = await store.all<{ worker_id: string; seen: number | string }>(
    'SELECT worker_id, MAX(seen_at) AS seen FROM orch_deployments GROUP BY worker_id',
  );
  const leases = await store.all<{
    owner: string;
    n: number | string;
    expired: number | string;
    next: number | string;
  }>(
    `SELECT lease_owner AS owner, COUNT(*) AS n,
       SUM(CASE WHEN lease_expires_at < ? THEN 1 ELSE 0 END) AS expired, MIN(lease_expires_at) AS next
     FROM orch_runs WHERE tenant_id = ? AND status = 'running' AND lease_owner IS NOT NULL
     GROUP BY lease_owner`,
    [now, tenantId],
  );
  const takeovers = await store.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM orch_lease_takeovers WHERE tenant_id = ? AND taken_at >= ?',
    [tenantId, now - SNAPSHOT_WINDOW_MS],
  );

  const seenAt = new Map(seen.map((row) => [row.worker_id, Number(row.seen)]));
  const byId = new Map<string, Worker>();
  for (const row of seen) {
    const at = Number(row.seen);
    // Stale rows of killed workers linger until pruned; only their leases make them worth a line.
    if (at >= now - WORKER_LIVE_MS)
      byId.set(row.worker_id, {
        id: row.worker_id,
        live: true,
        seenAt: at,
        leases: 0,
        expiredLeases: 0,
        nextExpiryAt: null,
      });
  }
  for (const row of leases) {
    const worker = byId.get(row.owner) ?? {
      id: row.owner,
      live: false,
      seenAt: seenAt.get(row.owner) ?? null,
      leases: 0,
      expiredLeases: 0,
      nextExpiryAt: null,
    };
    byId.set(row.owner, {
      ...worker,
      leases: Number(row.n),
      expiredLeases: Number(row.expired),
      nextExpiryAt: Number(row.next),
    });
  }
  const list = [...byId.values()].sort(
    (a, b) => Number(b.live) - Number(a.live) || b.leases - a.leases || a.id.localeCompare(b.id),
  );
  return {
    live: list.filter((w) => w.live).length,
    leases: list.reduce((sum, w) => sum + w.leases, 0),
    expiredLeases: list.reduce((sum, w) => sum + w.expiredLeases, 0),
    takeovers: Number(takeovers?.n ?? 0),
    list: list.slice(0, TOP_WORKERS),
  };
}
