/**
 * @module kernel/chaos/scope
 * How a named fault chosen by the pipeline reaches the driver that realises it. The pipeline runs
 * the handler of a faulted attempt inside an AsyncLocalStorage scope holding the fault; the driver,
 * deep in its own call path, asks `takeChaosFault('compute', 'oom_kill')` at the point where the
 * real failure would happen. Taking consumes the fault (one fault, one failure) and marks it
 * realised for the audit entry. Outside a faulted attempt (always, when chaos is off) the answer is
 * `false` after one AsyncLocalStorage lookup.
 *
 * A model provider's outage (an outage naming a `provider`) travels the same way: the attempt's
 * scope lists the provider outages open when it began, and the models layer's drivers ask
 * `chaosProviderDown(name)` before they reach that provider, so a route's fallback meets it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { FAULT_LAYER, type NamedFault } from './faults.ts';

/** A named fault planned for one attempt of one syscall. */
export interface PlannedFault {
  readonly fault: NamedFault;
  realised: boolean;
}

/** A model provider that is down for one attempt (an open outage naming it). */
export interface PlannedOutage {
  readonly provider: string;
  /** The outage's config path (`outages[0]`), for the error the driver raises. */
  readonly rule: string;
  realised: boolean;
}

/** What one attempt of one syscall is to suffer in the drivers under its handler. */
export interface ChaosScope {
  readonly fault?: PlannedFault;
  readonly outages?: readonly PlannedOutage[];
}

const storage = new AsyncLocalStorage<ChaosScope | undefined>();

/**
 * Runs `fn` with `scope` (or no fault) visible to {@link takeChaosFault} and
 * {@link chaosProviderDown} in everything it calls, until a nested syscall opens its own scope.
 */
export function runWithFault<T>(scope: ChaosScope | undefined, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** Whether `fault` waits, not yet realised, in the current attempt (does not take it). */
export function chaosFaultPlanned(layer: string, fault: NamedFault): boolean {
  const planned = storage.getStore()?.fault;
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
  (storage.getStore()?.fault as PlannedFault).realised = true;
  return true;
}

/**
 * The outage holding the model provider `provider` down in the current attempt, if any (marked
 * realised): the driver then fails as an unreachable provider does. Unlike a named fault it is not
 * used up: a provider that is down stays down for every retry in the attempt, so only another
 * target answers.
 */
export function chaosProviderDown(provider: string): { readonly rule: string } | undefined {
  const outage = storage.getStore()?.outages?.find((o) => o.provider === provider);
  if (outage) outage.realised = true;
  return outage;
}

/**
 * Never settles until `signal` aborts, then rejects with its reason: what a request to a peer that
 * never answers does. Drivers realise their timeout faults with it, so the call's own deadline (not
 * the fault) ends the wait and reports the layer's timeout error.
 */
export function hangUntilAborted(signal: AbortSignal | null | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
