/**
 * @module orchestration/supervision/decide
 * The supervisor's brain, as a pure function: given the flags, the children (in start order) and
 * one child exit, what to terminate, what to (re)start, and whether the supervisor itself stops.
 * No I/O, no clock: the durable supervisor (supervisor.ts) feeds it journaled events, so replay
 * reaches the same decisions. The semantics are Erlang/OTP's `supervisor` (stdlib manual,
 * "Supervision Principles", "Restart Strategy", "Child Specification", "Automatic Shutdown"):
 *
 * - `permanent` children are always restarted; `transient` only after an abnormal exit (an exit
 *   other than normal or shutdown); `temporary` never, not even when the supervisor terminated
 *   them because a sibling failed under one_for_all / rest_for_one (they are dropped instead).
 * - A child that exits and is not restarted affects no sibling, whatever the strategy.
 * - one_for_one / simple_one_for_one restart the child alone; one_for_all terminates every other
 *   running child (reverse start order) then starts all children in start order — children that
 *   had stopped normally (transient) included, as OTP's start_children does; rest_for_one does the
 *   same for the exited child and those started after it.
 * - Intensity: every restart decision (one, whatever the number of children it restarts) is added
 *   to the list of restart times; those older than the period fall out; if more than `intensity`
 *   remain, the supervisor terminates all its children (reverse order) and stops.
 * - auto_shutdown: a `significant` child (transient or temporary) that exits by itself and is not
 *   restarted shuts the supervisor down with `any_significant`, or with `all_significant` once no
 *   significant child is left running. Children the supervisor terminates never trigger it.
 */

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type RestartType = 'permanent' | 'transient' | 'temporary';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';
/** normal = the run completed; shutdown = it was cancelled from outside; abnormal = it failed. */
export type ExitReason = 'normal' | 'shutdown' | 'abnormal';

export interface SupervisorFlags {
  readonly strategy: Strategy;
  /** Restarts allowed within `periodMs`; one more stops the supervisor. */
  readonly intensity: number;
  readonly periodMs: number;
  readonly autoShutdown: AutoShutdown;
}

export interface ChildSlot {
  readonly id: string;
  readonly restart: RestartType;
  readonly significant: boolean;
  /** Number of the latest run of this child (1 = the first); each start takes the next. */
  readonly incarnation: number;
  readonly running: boolean;
  /** Due to run but held back (the mass-death breaker is open); see breaker.ts. */
  readonly held?: boolean;
}

export interface SupervisorState {
  /** In start order. Temporary children that ended are removed, as OTP removes them. */
  readonly children: readonly ChildSlot[];
  /** Times (ms) of the restart decisions still inside the intensity period. */
  readonly restarts: readonly number[];
}

export interface ChildExitEvent {
  readonly childId: string;
  readonly reason: ExitReason;
  /** When the supervisor learned of the exit (journaled, so replay sees the same time). */
  readonly at: number;
}

export type Action =
  | { readonly type: 'terminate'; readonly childId: string }
  | { readonly type: 'start'; readonly childId: string; readonly incarnation: number }
  | { readonly type: 'shutdown'; readonly reason: 'intensity' | 'auto_shutdown' };

export interface Decision {
  readonly state: SupervisorState;
  /** In the order they must be carried out. */
  readonly actions: readonly Action[];
  /** The exit named no running child (an old incarnation, or unknown): nothing changed. */
  readonly stale: boolean;
  /** This exit led to a restart decision (counted for intensity). */
  readonly restarted: boolean;
}

const isAbnormal = (reason: ExitReason): boolean => reason === 'abnormal';

/** Whether OTP restarts a child of this type after this exit. */
export function restartsAfter(restart: RestartType, reason: ExitReason): boolean {
  return restart === 'permanent' || (restart === 'transient' && isAbnormal(reason));
}

/** The restart times kept after one more restart at `at` (OTP keeps those within the period). */
export function addRestart(restarts: readonly number[], at: number, periodMs: number): number[] {
  return [...restarts.filter((t) => t >= at - periodMs), at];
}

/** Terminates `ids` in reverse start order; temporary ones leave the list. */
function terminateGroup(
  children: readonly ChildSlot[],
  ids: ReadonlySet<string>,
): { children: ChildSlot[]; actions: Action[] } {
  const actions: Action[] = [];
  for (let i = children.length - 1; i >= 0; i--) {
    const child = children[i];
    if (child && ids.has(child.id) && child.running) actions.push({ type: 'terminate', childId: child.id });
  }
  const kept = children
    .filter((c) => !(ids.has(c.id) && c.restart === 'temporary'))
    .map((c) => (ids.has(c.id) ? { ...c, running: false } : c));
  return { children: kept, actions };
}

/** Starts `ids` in start order with the next incarnation each. */
function startGroup(
  children: readonly ChildSlot[],
  ids: ReadonlySet<string>,
): { children: ChildSlot[]; actions: Action[] } {
  const actions: Action[] = [];
  const next = children.map((c) => {
    if (!ids.has(c.id)) return c;
    const incarnation = c.incarnation + 1;
    actions.push({ type: 'start', childId: c.id, incarnation });
    return { ...c, incarnation, running: true, held: false };
  });
  return { children: next, actions };
}

/** The supervisor stops: every running child is terminated, last started first. */
function shutdown(
  state: SupervisorState,
  reason: 'intensity' | 'auto_shutdown',
  restarts = state.restarts,
): Decision {
  const ids = new Set(state.children.map((c) => c.id));
  const stopped = terminateGroup(state.children, ids);
  return {
    state: { children: stopped.children, restarts },
    actions: [...stopped.actions, { type: 'shutdown', reason }],
    stale: false,
    restarted: false,
  };
}

/** Which children a restart of `index` involves under `strategy`. */
function restartGroup(strategy: Strategy, children: readonly ChildSlot[], index: number): string[] {
  switch (strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return [children[index]?.id ?? ''];
    case 'one_for_all':
      return children.map((c) => c.id);
    case 'rest_for_one':
      return children.slice(index).map((c) => c.id);
  }
}

export function decide(flags: SupervisorFlags, state: SupervisorState, exit: ChildExitEvent): Decision {
  const index = state.children.findIndex((c) => c.id === exit.childId && c.running);
  const child = state.children[index];
  if (!child) return { state, actions: [], stale: true, restarted: false };
  const stopped = state.children.map((c, i) => (i === index ? { ...c, running: false } : c));

  if (!restartsAfter(child.restart, exit.reason)) {
    // Not restarted: temporary children, and dynamic ones, leave the list; others stay, stopped.
    const drop = child.restart === 'temporary' || flags.strategy === 'simple_one_for_one';
    const children = drop ? stopped.filter((_, i) => i !== index) : stopped;
    const next = { children, restarts: state.restarts };
    if (child.significant && endsGroup(flags.autoShutdown, children)) return shutdown(next, 'auto_shutdown');
    return { state: next, actions: [], stale: false, restarted: false };
  }

  const restarts = addRestart(state.restarts, exit.at, flags.periodMs);
  if (restarts.length > flags.intensity)
    return shutdown({ children: stopped, restarts: state.restarts }, 'intensity', restarts);

  const group = new Set(restartGroup(flags.strategy, stopped, index));
  const terminated = terminateGroup(stopped, group);
  const started = startGroup(terminated.children, group);
  return {
    state: { children: started.children, restarts },
    actions: [...terminated.actions, ...started.actions],
    stale: false,
    restarted: true,
  };
}

/** Whether the exit of a significant child ends the group (the exited child is already stopped). */
function endsGroup(mode: AutoShutdown, children: readonly ChildSlot[]): boolean {
  if (mode === 'any_significant') return true;
  if (mode === 'all_significant') return !children.some((c) => c.significant && (c.running || c.held));
  return false;
}

/** Starting a supervisor: every child in start order, incarnation 1. */
export function initialStart(children: readonly ChildSlot[]): Decision {
  const started = startGroup(children, new Set(children.map((c) => c.id)));
  return {
    state: { children: started.children, restarts: [] },
    actions: started.actions,
    stale: false,
    restarted: false,
  };
}
