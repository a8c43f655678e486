/**
 * @module strata/mergequeue
 * The merge queue: many agents (and people) change one git repository; main only ever moves, by
 * fast-forward, to a tree that passed its check. Batches are tested speculatively (Zuul's
 * dependent pipeline with an adaptive window), a failing batch is retried once and then bisected
 * to its culprit, and the innocents are re-verified before main moves. Any new export added here
 * becomes public API.
 *
 * @example
 * const engine = new QueueEngine({ batch: { min: 1, max: 8 } });
 * engine.submit({ id: 'mr-1', author: 'agent-7' });
 * for (const check of engine.next()) {
 *   const advances = engine.report(check.id, await runCheck(check)); // main moves to these trees
 * }
 */
export const LAYER = { name: 'mergequeue', status: 'in progress', issue: 13 } as const;

export { QueueEngine, type QueueEngineOptions } from './engine.ts';
export { AdaptiveWindow, DEFAULT_WINDOW } from './window.ts';
export {
  percentile,
  serialChecks,
  seededRandom,
  simulate,
  type SimulationOptions,
  type SimulationResult,
} from './simulate.ts';
export { ENTRY_TRANSITIONS, TERMINAL_STATES } from './types.ts';
export type * from './types.ts';
export { checkNetworkSchema, type ConfigureInput } from './configure.ts';
export { MergeQueues, type EntryDetail, type MergeQueuesOptions, type SubmitChange } from './service.ts';
export { mergeQueueSyscalls } from './syscalls.ts';
export type { QueueStats } from './stats.ts';
export { MERGEQUEUE_LAYER, mergeQueueMigrations } from './migrations.ts';
export { checkGit, GitRepository, type MergeResult } from './git.ts';
export { RemoteRepository, type RemoteAuth, type SecretResolver } from './remote.ts';
export { sandboxRunner, type CheckJob, type CheckRun, type CheckRunner } from './runner.ts';
export { QueueWorker, type ReworkEvent } from './worker.ts';
export {
  mailReworkNotifier,
  REWORK_WORKFLOW,
  ReworkTasks,
  type Rework,
  type ReworkNotice,
  type ReworkNotifier,
  type ReworkOutcome,
  type ReworkTasksOptions,
} from './rework.ts';
export { QueueStore, type CheckRow, type EntryRow, type QueueRow, type StopInfo } from './store.ts';
export { CHECK_SECONDS_METER, CheckMetering, checkUsage, type FinishedCheck } from './metering.ts';
