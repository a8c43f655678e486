/**
 * @module orchestration/suspension
 * The throwable that releases the worker when a wait (sleep, signal, join, child exit, rate limit)
 * cannot complete yet. The executor records the run as `waiting` until the suspension's timer, or
 * until something wakes it.
 */

/** Thrown through the workflow to release the worker; never caught by the engine as a failure. */
export class Suspension extends Error {
  readonly wakeAt: number | null;
  constructor(wakeAt: number | null) {
    super('the run is suspended (a workflow must rethrow this, never swallow it)');
    this.name = 'Suspension';
    this.wakeAt = wakeAt;
  }
}

/**
 * One execution's suspension once a wait until `wakeAt` (null: until woken) joins the `earlier`
 * one: the earliest timer among the waits in flight (waking early only costs a replay).
 */
export function joinSuspension(earlier: Suspension | undefined, wakeAt: number | null): Suspension {
  const timers = [earlier?.wakeAt, wakeAt].filter((t): t is number => typeof t === 'number');
  return new Suspension(timers.length > 0 ? Math.min(...timers) : null);
}
