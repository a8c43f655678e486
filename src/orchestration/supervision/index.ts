/**
 * @module orchestration/supervision
 * Supervision trees with Erlang/OTP semantics over durable runs: a supervisor is a run, its
 * children are child runs, and its decisions (decide.ts) are replayed from its journal, so a tree
 * survives any worker's death as it was.
 *
 * @example
 * const team = defineSupervisor({ name: 'team', version: 1, strategy: 'one_for_all',
 *   children: [{ id: 'planner', workflow: planner, input: {} }, { id: 'coder', workflow: coder, input: {} }] });
 * engine.register(team);
 * const run = await engine.start('team', {}, { principal });
 * console.log(await fleetTree(engine, principal.tenantId, run.id));
 *
 * Any new export added here becomes public API.
 */
export {
  addRestart,
  decide,
  initialStart,
  restartsAfter,
  type Action,
  type AutoShutdown,
  type ChildExitEvent,
  type ChildSlot,
  type Decision,
  type ExitReason,
  type RestartType,
  type Strategy,
  type SupervisorFlags,
  type SupervisorState,
} from './decide.ts';
export {
  guard,
  release,
  restartDelay,
  type BackoffPolicy,
  type BreakerPolicy,
  type BreakerState,
} from './breaker.ts';
export {
  AGENT_SUPERVISOR_DEFAULTS,
  START_CHILD_SIGNAL,
  incarnationKey,
  parseIncarnationKey,
  type ChildSpec,
  type ChildTemplate,
  type SupervisorEvent,
  type SupervisorSpec,
} from './spec.ts';
export type { SpawnRate } from './spawn-pacer.ts';
export {
  defineSupervisor,
  supervisorSpec,
  type SupervisorInput,
  type SupervisorOutput,
} from './supervisor.ts';
export { assertCurrentIncarnation, fleetTree, type TreeNode } from './tree.ts';
export type { ChildEvent } from './child-exits.ts';
export { fleetSyscalls } from './syscalls.ts';
export { supervisorEscalation } from './escalate.ts';
export {
  STALL_DEFAULTS,
  STALLS_LAYER,
  StallWatch,
  reportProgress,
  stallMigrations,
  type Stall,
  type StallPolicy,
  type StallWatchOptions,
} from './stalls.ts';
