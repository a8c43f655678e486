/**
 * @module tools/rate-limit
 * Per-tool token buckets, one per (tenant, tool), in process. A call that finds the bucket empty
 * fails fast with E_RATE_LIMITED and `retryAfterMs` rather than queueing: the caller (or the
 * orchestration layer's retry policy) decides whether to wait. Limits protect upstream services
 * and their quotas; across several Strata processes each enforces its own share.
 */
import { StrataError, type Clock } from '../kernel/index.ts';
import type { RateLimit } from './types.ts';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Takes one token or throws E_RATE_LIMITED. */
  take(key: string, limit: RateLimit): void {
    const burst = Math.max(1, limit.burst ?? limit.perSecond);
    const now = this.#clock.now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      const retryAfterMs = Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000);
      throw new StrataError('E_RATE_LIMITED', `rate limit of ${limit.perSecond}/s reached for ${key}`, {
        retryAfterMs,
      });
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
  }
}
