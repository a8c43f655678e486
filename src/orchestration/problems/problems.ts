/**
 * @module orchestration/problems/problems
 * The "needs you" list of a tenant (issue 14): every item that waits on a person, each with its
 * kind, reason, age and the syscall that acts on it. Read from the store only, so every process on
 * the same database lists the same items, and bounded: one indexed query per kind, `limit` rows
 * each (kinds cut short are named in `truncated`). The one exception is `driver`: the drivers that
 * are not healthy, read from the process answering (`options.drivers`, see drivers.ts).
 *
 * @example
 * const { count, items } = await listProblems(store, tenantId, { kinds: ['approval'] });
 */
import type { DriverHealth, Migration, Store } from '../../kernel/index.ts';
import { budgetPauseMigrations, BUDGET_PAUSES_LAYER } from '../budget-pause/migrations.ts';
import { ensureLayers as ensureFleetLayers } from '../fleet-report.ts';
import { driverProblems } from './drivers.ts';
import { mergeChanges, stoppedQueues } from './merge-queue.ts';
import * as sources from './sources.ts';
import { PROBLEM_KINDS, type Problem, type ProblemKind, type Problems } from './types.ts';

export const PROBLEMS_LAYER = 'orchestration.problems';

/** Without it, listing parked runs reads every run of the tenant (orch_runs_tenant has no status). */
export const problemMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'parked runs index',
    up: `CREATE INDEX orch_runs_parked ON orch_runs (tenant_id, updated_at) WHERE status = 'version_unavailable';`,
  },
];

/** The merge queue's migration layer: its tables exist only where a merge queue was opened. */
const MERGEQUEUE_LAYER = 'mergequeue';

export interface ProblemsOptions {
  /** Only these kinds. @default every kind */
  readonly kinds?: readonly ProblemKind[];
  /** Items per kind. @default 100 */
  readonly limit?: number;
  /** @default Date.now() */
  readonly now?: number;
  /** The drivers' health readings (`kernel.health.read`); without it, no `driver` items. */
  readonly drivers?: () => Promise<readonly DriverHealth[]>;
}

const migrated = new WeakSet<Store>();

async function ensureLayers(store: Store): Promise<void> {
  if (migrated.has(store)) return;
  await ensureFleetLayers(store); // escalations, stalls, approvals
  await store.migrate(BUDGET_PAUSES_LAYER, budgetPauseMigrations);
  await store.migrate(PROBLEMS_LAYER, problemMigrations);
  migrated.add(store);
}

async function hasLayer(store: Store, layer: string): Promise<boolean> {
  const row = await store.get('SELECT 1 AS present FROM strata_migrations WHERE layer = ? LIMIT 1', [layer]);
  return row !== undefined;
}

export async function listProblems(
  store: Store,
  tenantId: string,
  options: ProblemsOptions = {},
): Promise<Problems> {
  await ensureLayers(store);
  const scope = {
    store,
    tenantId,
    now: options.now ?? Date.now(),
    limit: Math.min(Math.max(options.limit ?? 100, 1), 1000),
  };
  const wanted = new Set<ProblemKind>(options.kinds?.length ? options.kinds : PROBLEM_KINDS);
  const none: sources.Found = { items: [], full: false, covers: [] };
  const found = new Map<ProblemKind, sources.Found>();
  // Pauses, approvals and stalls first: what they stand for is left out of the escalations. Their
  // queries run even when their kind is filtered out, so a filter never brings back a duplicate.
  const pauses = await sources.budgetPauses(scope);
  found.set('budget_pause', pauses);
  found.set('approval', await sources.approvals(scope, pauses.approvals));
  found.set('stalled_run', await sources.stalledRuns(scope));
  const covered = new Set([...found.values()].flatMap((f) => f.covers));
  if (wanted.has('escalation') || wanted.has('supervisor')) {
    const escalations = await sources.escalations(scope, covered);
    const of = (kind: ProblemKind): sources.Found => ({
      ...escalations,
      items: escalations.items.filter((i) => i.kind === kind),
    });
    found.set('escalation', of('escalation'));
    found.set('supervisor', of('supervisor'));
  }
  if (wanted.has('version_unavailable')) found.set('version_unavailable', await sources.parkedRuns(scope));
  const mq =
    (wanted.has('merge_change') || wanted.has('merge_queue_stopped')) &&
    (await hasLayer(store, MERGEQUEUE_LAYER));
  if (mq && wanted.has('merge_change')) found.set('merge_change', await mergeChanges(scope));
  if (mq && wanted.has('merge_queue_stopped')) found.set('merge_queue_stopped', await stoppedQueues(scope));
  if (options.drivers && wanted.has('driver'))
    found.set('driver', {
      items: driverProblems(await options.drivers(), scope.now),
      full: false,
      covers: [],
    });
  const kinds = PROBLEM_KINDS.filter((k) => wanted.has(k));
  const items: Problem[] = kinds
    .flatMap((k) => (found.get(k) ?? none).items)
    .sort((a, b) => a.since - b.since || (a.id < b.id ? -1 : 1)); // longest waiting first
  return {
    count: items.length,
    items,
    truncated: kinds.filter((k) => found.get(k)?.full === true),
  };
}
