/**
 * @module models/limiter
 * One admission bucket per (provider, model, account): a request bucket (requests per minute, or
 * the older requests per second with a burst), a token bucket (tokens per minute) and a
 * concurrency cap, plus a pause a provider's 429 Retry-After sets for every caller of the bucket.
 *
 * Tokens are reserved at their estimate (prompt plus maxTokens) before the call and corrected with
 * the real usage after it, so the bucket may go into debt when a call used more than estimated;
 * the debt delays later calls instead of overrunning the provider's window.
 *
 * Fairness: waiters queue per tenant and tenants are served round-robin (a Map keeps insertion
 * order, so serving a tenant and re-inserting it moves it to the back). Within a tenant, arrival
 * order. The head waiter is never skipped for a smaller one behind it, so a large call is not
 * starved by small ones. An aborted waiter leaves the queue at once.
 */
import { StrataError } from '../kernel/index.ts';

export interface BucketLimits {
  /** Requests refilled per second; Infinity for no request limit. */
  readonly requestsPerSecond: number;
  /** Request bucket size (the burst). */
  readonly requestBurst: number;
  /** Tokens (prompt plus output) per minute; Infinity for no token limit. */
  readonly tokensPerMinute: number;
  readonly maxConcurrency: number;
}

export interface BucketState {
  readonly requests: { readonly used: number; readonly limit: number | null };
  readonly tokens: { readonly used: number; readonly limit: number | null };
  readonly concurrency: { readonly used: number; readonly limit: number };
  readonly queued: number;
  /** Epoch ms until which a provider's Retry-After holds every call back; null when not paused. */
  readonly pausedUntil: number | null;
}

/** A granted call: `settle` corrects the token reservation with the real usage and frees the slot. */
export interface Admission {
  /** Total tokens the call really used; undefined when unknown (the reservation is refunded). */
  settle(actualTokens?: number): void;
  /** Milliseconds spent waiting in the queue. */
  readonly waitedMs: number;
}

interface Waiter {
  readonly tenant: string;
  readonly need: number;
  readonly queuedAt: number;
  readonly grant: (admission: Admission) => void;
}

const aborted = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new StrataError('E_CANCELLED', 'aborted');

export class CapacityBucket {
  readonly #limits: BucketLimits;
  readonly #now: () => number;
  #requests: number;
  #tokens: number;
  #refilledAt: number;
  #running = 0;
  #pausedUntil = 0;
  /** Tenant → its waiters in arrival order; iteration order is the round-robin order. */
  readonly #queues = new Map<string, Waiter[]>();
  #timer: NodeJS.Timeout | undefined;

  constructor(limits: BucketLimits, now: () => number = () => Date.now()) {
    this.#limits = limits;
    this.#now = now;
    this.#requests = limits.requestBurst;
    this.#tokens = limits.tokensPerMinute;
    this.#refilledAt = now();
  }

  /** Waits until the call may go; `tokens` is its estimate, capped at the bucket so it can ever fit. */
  acquire(options: { tenant: string; tokens?: number; signal?: AbortSignal }): Promise<Admission> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(aborted(signal));
    const need = Math.min(Math.max(0, options.tokens ?? 0), this.#limits.tokensPerMinute);
    return new Promise<Admission>((resolve, reject) => {
      const waiter: Waiter = {
        tenant: options.tenant,
        need,
        queuedAt: this.#now(),
        grant: (admission) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(admission);
        },
      };
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(aborted(signal as AbortSignal));
        this.#pump(); // the head may have changed
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = this.#queues.get(waiter.tenant);
      if (queue) queue.push(waiter);
      else this.#queues.set(waiter.tenant, [waiter]);
      this.#pump();
    });
  }

  /** A provider said wait: nobody is admitted through this bucket before `until` (epoch ms). */
  pause(until: number): void {
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#reschedule();
  }

  /** Epoch ms until which the bucket is paused, or 0. */
  get pausedUntil(): number {
    return this.#pausedUntil > this.#now() ? this.#pausedUntil : 0;
  }

  state(): BucketState {
    this.#refill();
    const { requestsPerSecond, requestBurst, tokensPerMinute, maxConcurrency } = this.#limits;
    let queued = 0;
    for (const q of this.#queues.values()) queued += q.length;
    const paused = this.pausedUntil;
    return {
      requests: Number.isFinite(requestsPerSecond)
        ? { used: Math.max(0, Math.round(requestBurst - this.#requests)), limit: requestBurst }
        : { used: 0, limit: null },
      tokens: Number.isFinite(tokensPerMinute)
        ? { used: Math.max(0, Math.round(tokensPerMinute - this.#tokens)), limit: tokensPerMinute }
        : { used: 0, limit: null },
      concurrency: { used: this.#running, limit: maxConcurrency },
      queued,
      pausedUntil: paused === 0 ? null : paused,
    };
  }

  #remove(waiter: Waiter): void {
    const queue = this.#queues.get(waiter.tenant);
    const i = queue?.indexOf(waiter) ?? -1;
    if (!queue || i < 0) return;
    queue.splice(i, 1);
    if (queue.length === 0) this.#queues.delete(waiter.tenant);
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#refilledAt);
    this.#refilledAt = now;
    const { requestsPerSecond, requestBurst, tokensPerMinute } = this.#limits;
    if (Number.isFinite(requestsPerSecond))
      this.#requests = Math.min(requestBurst, this.#requests + (elapsed / 1000) * requestsPerSecond);
    if (Number.isFinite(tokensPerMinute))
      this.#tokens = Math.min(tokensPerMinute, this.#tokens + (elapsed / 60_000) * tokensPerMinute);
  }

  /** Milliseconds until `waiter` fits, 0 when it fits now, Infinity when only a release can help. */
  #waitFor(waiter: Waiter): number {
    if (this.#running >= this.#limits.maxConcurrency) return Infinity;
    const now = this.#now();
    const { requestsPerSecond, tokensPerMinute } = this.#limits;
    const paused = Math.max(0, this.#pausedUntil - now);
    const requests =
      this.#requests >= 1 || !Number.isFinite(requestsPerSecond)
        ? 0
        : ((1 - this.#requests) / requestsPerSecond) * 1000;
    const tokens =
      this.#tokens >= waiter.need || !Number.isFinite(tokensPerMinute)
        ? 0
        : ((waiter.need - this.#tokens) / tokensPerMinute) * 60_000;
    return Math.max(paused, requests, tokens);
  }

  #pump(): void {
    this.#refill();
    for (;;) {
      const [tenant, queue] = this.#queues.entries().next().value ?? [];
      const head = queue?.[0];
      if (tenant === undefined || !queue || !head || this.#waitFor(head) > 0) break;
      queue.shift();
      this.#queues.delete(tenant);
      if (queue.length > 0) this.#queues.set(tenant, queue); // to the back of the ring
      this.#admit(head);
    }
    this.#reschedule();
  }

  #admit(waiter: Waiter): void {
    this.#running++;
    if (Number.isFinite(this.#limits.requestsPerSecond)) this.#requests -= 1;
    const metered = Number.isFinite(this.#limits.tokensPerMinute);
    if (metered) this.#tokens -= waiter.need;
    let settled = false;
    waiter.grant({
      waitedMs: this.#now() - waiter.queuedAt,
      settle: (actual) => {
        if (settled) return;
        settled = true;
        this.#running--;
        if (metered) {
          this.#refill();
          // Credit the estimate back and debit what was really used (which may exceed the bucket).
          this.#tokens = Math.min(this.#limits.tokensPerMinute, this.#tokens + waiter.need - (actual ?? 0));
        }
        this.#pump();
      },
    });
  }

  #reschedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const head = this.#queues.values().next().value?.[0];
    if (!head) return;
    const wait = this.#waitFor(head);
    if (!Number.isFinite(wait) || wait <= 0) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(1, Math.ceil(wait)),
    );
  }
}
