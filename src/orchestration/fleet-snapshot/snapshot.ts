/**
 * @module orchestration/fleet-snapshot/snapshot
 * `fleetSnapshot`: the state of a tenant's fleet now (runs, throughput, agents, queues, workers
 * and leases, cost against budgets), each part one bounded query on an index (runs.ts, workers.ts,
 * cost.ts), read from the store alone so every server process answers the same.
 *
 * @example
 * const s = await fleetSnapshot(store, tenantId);
 * s.runs.byStatus.running; s.throughput.completedPerSec; s.workers.expiredLeases;
 */
import type { Store } from '../../kernel/index.ts';
import { costBurn } from './cost.ts';
import {
  agentsByState,
  attention,
  ensureSnapshotLayers,
  queueDepths,
  runsByStatus,
  throughput,
} from './runs.ts';
import type { FleetSnapshot } from './types.ts';
import { workersAndLeases } from './workers.ts';

export async function fleetSnapshot(
  store: Store,
  tenantId: string,
  options: { readonly now?: number } = {},
): Promise<FleetSnapshot> {
  await ensureSnapshotLayers(store);
  const now = options.now ?? Date.now();
  const [runs, rate, agents, needs, queues, workers, cost] = await Promise.all([
    runsByStatus(store, tenantId),
    throughput(store, tenantId, now),
    agentsByState(store, tenantId),
    attention(store, tenantId, now),
    queueDepths(store, tenantId),
    workersAndLeases(store, tenantId, now),
    costBurn(store, tenantId, now),
  ]);
  return {
    tenantId,
    generatedAt: now,
    runs,
    throughput: rate,
    agents,
    attention: needs,
    queues,
    workers,
    cost,
  };
}
