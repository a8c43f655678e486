/**
 * @module kernel/syscalls/deadline
 * A deadline a caller sets on one piece of a syscall's work (`timeoutMs` in its input), shorter than
 * the syscall's own timeout: the work gets a signal that aborts at the deadline or when the call is
 * abandoned, and work cut by the deadline fails with E_SYSCALL_TIMEOUT, which is retryable — a
 * slow peer or a stalled query may answer on the next try. An abandoned call keeps its own error.
 */
import { StrataError } from '../errors.ts';

export interface DeadlineOptions {
  /** The call's signal (`ctx.signal`): aborted when the syscall times out or the caller gives up. */
  readonly signal?: AbortSignal;
  /** Unset: no deadline of its own, the call's signal alone. */
  readonly timeoutMs?: number;
}

export interface Overdue {
  /** What did not finish: `remote A2A agent x did not answer`. */
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

/** Runs `work` under the deadline; past it, throws E_SYSCALL_TIMEOUT built from `overdue`. */
export async function withDeadline<T>(
  options: DeadlineOptions,
  overdue: Overdue,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const { timeoutMs } = options;
  const timer = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const signals = [options.signal, timer].filter((s) => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  try {
    const result = await work(signal);
    // Work that does not watch the signal may finish late: late is still a timeout.
    signal?.throwIfAborted();
    return result;
  } catch (error) {
    if (timer?.aborted !== true || options.signal?.aborted === true) throw error;
    throw new StrataError(
      'E_SYSCALL_TIMEOUT',
      `${overdue.message} within ${timeoutMs} ms; retry, or allow it longer (timeoutMs)`,
      { ...overdue.data, timeoutMs },
      { cause: error },
    );
  }
}
