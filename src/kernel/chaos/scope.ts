/**
 * @module kernel/chaos/scope
 * How a named fault chosen by the pipeline reaches the driver that realises it. The pipeline runs
 * the handler of a faulted attempt inside an AsyncLocalStorage scope holding the fault; the driver,
 * deep in its own call path, asks `takeChaosFault('compute', 'oom_kill')` at the point where the
 * real failure would happen. Taking consumes the fault (one fault, one failure) and marks it
 * realised for the audit entry. Outside a faulted attempt (always, when chaos is off) the answer is
 * `false` after one AsyncLocalStorage lookup.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { FAULT_LAYER, type NamedFault } from './faults.ts';

/** A named fault planned for one attempt of one syscall. */
export interface PlannedFault {
  readonly fault: NamedFault;
  realised: boolean;
}

const storage = new AsyncLocalStorage<PlannedFault | undefined>();

/**
 * Runs `fn` with `planned` (or no fault) visible to {@link takeChaosFault} in everything it calls,
 * until a nested syscall opens its own scope.
 */
export function runWithFault<T>(planned: PlannedFault | undefined, fn: () => Promise<T>): Promise<T> {
  return storage.run(planned, fn);
}

/** Whether `fault` waits, not yet realised, in the current attempt (does not take it). */
export function chaosFaultPlanned(layer: string, fault: NamedFault): boolean {
  const planned = storage.getStore();
  return (
    planned !== undefined && !planned.realised && planned.fault === fault && FAULT_LAYER[fault] === layer
  );
}

/**
 * True once when the current syscall attempt was chosen to suffer `fault` in `layer`: the caller
 * then makes the real failure happen. Every later ask in the same attempt answers false.
 */
export function takeChaosFault(layer: string, fault: NamedFault): boolean {
  if (!chaosFaultPlanned(layer, fault)) return false;
  (storage.getStore() as PlannedFault).realised = true;
  return true;
}
