/**
 * @module orchestration/execution-scope
 * Which worker is executing which run, for the syscalls a run makes. A run's syscalls carry only
 * its run id, which the live execution and a zombie one (a worker that lost its lease but has not
 * noticed: partitioned, paused, or about to be killed) share. Fenced syscalls (`fleet.task.*`)
 * compare the worker found here with the run's lease owner, as the executor fences its own writes,
 * so an execution that was taken over is refused instead of acting twice.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Execution {
  readonly runId: string;
  readonly workerId: string;
}

const scope = new AsyncLocalStorage<Execution>();

export function withExecution<T>(execution: Execution, fn: () => T): T {
  return scope.run(execution, fn);
}

/** The execution making the current call, if `runId` is what is executing here. */
export function currentExecution(runId: string): Execution | undefined {
  const execution = scope.getStore();
  return execution?.runId === runId ? execution : undefined;
}
