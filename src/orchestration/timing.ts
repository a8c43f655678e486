/** Backoff, cancellable sleep and per-attempt timeouts for steps. */
import { StrataError } from '../kernel/index.ts';
import type { RetryOptions } from './define.ts';

export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new StrataError('E_CANCELLED', 'the run was cancelled');
}

export function backoff(retry: RetryOptions | undefined, attempt: number): number {
  const base = retry?.baseDelayMs ?? 1000;
  const ceiling = Math.min(retry?.maxDelayMs ?? 60_000, base * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2)); // whole ms: stored as BIGINT
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(abortReason(signal))), {
      once: true,
    });
  });
}

export async function withTimeout<T>(promise: Promise<T>, ms: number | undefined, name: string): Promise<T> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StrataError('E_SYSCALL_TIMEOUT', `step "${name}" timed out after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
