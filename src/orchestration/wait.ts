/**
 * @module orchestration/wait
 * Awaiting a run's end from outside it (scripts, tests, request handlers that want a result). The
 * engine sends no notification when a top-level run finishes, and the run may finish in another
 * process, so this polls the run's row (one primary-key read per `pollMs`).
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
  for (;;) {
    const run = await engine.get(tenantId, runId);
    if (TERMINAL.has(run.status)) return run;
    if (Date.now() >= deadline) {
      throw new StrataError(
        'E_WAIT_TIMEOUT',
        `run ${runId} is still ${run.status} after ${options.timeoutMs} ms`,
        { runId, status: run.status },
      );
    }
    await sleep(options.pollMs ?? 50, undefined, { signal: options.signal });
  }
}
