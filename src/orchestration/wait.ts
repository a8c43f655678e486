/**
 * @module orchestration/wait
 * Awaiting a run's end from outside it (scripts, tests, request handlers that want a result). The
 * run may finish in another process, so this polls the run's row (one primary-key read per
 * `pollMs`); a worker in this process that ends an execution of the run makes it read at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StrataError } from '../kernel/index.ts';
import type { Engine } from './engine.ts';
import { TERMINAL, type Run } from './run-row.ts';

export interface WaitForRunOptions {
  /** Give up after this long with E_WAIT_TIMEOUT. @default no limit */
  readonly timeoutMs?: number;
  /** @default 50 */
  readonly pollMs?: number;
  /** Stops waiting (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** Resolves with the run once it is completed, failed or cancelled; it does not throw for a failed run. */
export async function waitForRun(
  engine: Engine,
  tenantId: string,
  runId: string,
  options: WaitForRunOptions = {},
): Promise<Run> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  // A worker of this process that ends an execution of the run says so (see worker.ts): the row is
  // read again at once instead of at the next poll. Heard before the read, so none is missed.
  let hinted: boolean | undefined;
  let wakeUp: (() => void) | undefined;
  const onEnded = (): void => {
    hinted = true;
    wakeUp?.();
  };
  const event = executionEnded(runId);
  engine.wakes.on(event, onEnded);
  try {
    for (;;) {
      hinted = false;
      const run = await engine.get(tenantId, runId);
      if (TERMINAL.has(run.status)) return run;
      if (Date.now() >= deadline) {
        throw new StrataError(
          'E_WAIT_TIMEOUT',
          `run ${runId} is still ${run.status} after ${options.timeoutMs} ms`,
          { runId, status: run.status },
        );
      }
      if (hinted) continue;
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      options.signal?.addEventListener('abort', stop, { once: true });
      wakeUp = stop;
      try {
        await sleep(Math.min(options.pollMs ?? 50, deadline - Date.now()), undefined, { signal: ac.signal });
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (!ac.signal.aborted) throw error;
      } finally {
        wakeUp = undefined;
        options.signal?.removeEventListener('abort', stop);
      }
    }
  } finally {
    engine.wakes.off(event, onEnded);
  }
}

/** The in-process event a worker emits on `engine.wakes` when an execution of a run ends. */
export function executionEnded(runId: string): string {
  return `ended:${runId}`;
}
