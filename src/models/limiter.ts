/**
 * @module models/limiter
 * Per-provider admission: a token bucket (requests per second with a burst) and a concurrency cap.
 * Waiters are served in arrival order, and a waiter whose call is aborted leaves the queue.
 */
import { StrataError } from '../kernel/index.ts';

export interface LimiterOptions {
  readonly requestsPerSecond?: number;
  readonly burst?: number;
  readonly maxConcurrency: number;
}

export class ProviderLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  #tokens: number;
  #refilledAt = performance.now();
  #running = 0;
  readonly #queue: { resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LimiterOptions) {
    this.#rate = options.requestsPerSecond ?? Infinity;
    this.#burst = options.burst ?? Infinity;
    this.#max = options.maxConcurrency;
    this.#tokens = this.#burst;
  }

  /** Resolves with a release function once the call may go. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw signal.reason ?? new StrataError('E_CANCELLED', 'aborted');
    await new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject, signal };
      this.#queue.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason instanceof Error ? signal.reason : new StrataError('E_CANCELLED', 'aborted'));
        },
        { once: true },
      );
      this.#pump();
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#pump();
    };
  }

  #pump(): void {
    if (Number.isFinite(this.#rate)) {
      const now = performance.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
      this.#refilledAt = now;
    }
    while (this.#queue.length > 0 && this.#running < this.#max && this.#tokens >= 1) {
      const next = this.#queue.shift();
      if (!next) break;
      this.#running++;
      if (Number.isFinite(this.#rate)) this.#tokens -= 1;
      next.resolve();
    }
    if (this.#queue.length > 0 && this.#running < this.#max && !this.#timer) {
      const waitMs = Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined;
          this.#pump();
        },
        Math.max(1, waitMs),
      );
    }
  }
}
