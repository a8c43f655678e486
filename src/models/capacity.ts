/**
 * @module models/capacity
 * Admission for model calls by what is really scarce: one {@link CapacityBucket} per (provider,
 * model, account). The account is the API key's identity — a short SHA-256 fingerprint of the key,
 * never the key — because two tenants' vault entries of the same name may hold different keys with
 * their own provider quotas, and two names may hold the same key sharing one quota.
 *
 * Buckets live in this process: several server processes sharing one key each admit up to the
 * limit, so configure per-process limits (or one process) when the provider's quota is shared.
 */
import { createHash } from 'node:crypto';
import { bucketLimits, type ProviderConfig } from './config.ts';
import { CapacityBucket, type Admission, type BucketState } from './limiter.ts';

/** The account of calls made without a key (injected providers, local servers). */
export const NO_ACCOUNT = 'none';

export const accountOf = (apiKey: string | undefined): string =>
  apiKey ? `key:${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}` : NO_ACCOUNT;

export interface BucketKey {
  readonly provider: string;
  readonly model: string;
  readonly account: string;
}

export interface CapacityEntry extends BucketKey, BucketState {}

/** What the capacity layer reports, for metrics. */
export interface CapacityObserver {
  /** A call left the queue after waiting `ms`. */
  waited?(key: BucketKey, ms: number): void;
  /** A provider's Retry-After paused a bucket for `ms`. */
  paused?(key: BucketKey, ms: number): void;
}

export class Capacity {
  readonly #providers: readonly ProviderConfig[];
  readonly #buckets = new Map<string, { key: BucketKey; bucket: CapacityBucket }>();
  readonly #observers = new Set<CapacityObserver>();
  readonly #now: () => number;

  constructor(providers: readonly ProviderConfig[], now: () => number = () => Date.now()) {
    this.#providers = providers;
    this.#now = now;
  }

  observe(observer: CapacityObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  bucket(provider: ProviderConfig, model: string, account: string): CapacityBucket {
    const id = `${provider.name}\u0000${model}\u0000${account}`;
    let found = this.#buckets.get(id);
    if (!found) {
      found = {
        key: { provider: provider.name, model, account },
        bucket: new CapacityBucket(bucketLimits(provider, model), this.#now),
      };
      this.#buckets.set(id, found);
    }
    return found.bucket;
  }

  async acquire(
    key: { provider: ProviderConfig; model: string; account: string },
    call: { tenant: string; tokens?: number; signal?: AbortSignal },
  ): Promise<Admission> {
    const admission = await this.bucket(key.provider, key.model, key.account).acquire(call);
    const named = { provider: key.provider.name, model: key.model, account: key.account };
    for (const o of this.#observers) o.waited?.(named, admission.waitedMs);
    return admission;
  }

  /** A 429 with Retry-After: every caller of this bucket waits until then, not only the one told. */
  pause(key: { provider: ProviderConfig; model: string; account: string }, ms: number): void {
    const bucket = this.bucket(key.provider, key.model, key.account);
    bucket.pause(this.#now() + ms);
    const named = { provider: key.provider.name, model: key.model, account: key.account };
    for (const o of this.#observers) o.paused?.(named, ms);
  }

  /**
   * Every bucket in use, then every configured (provider, model) not used yet (account `none`,
   * nothing used), so the configured limits show before the first call.
   */
  snapshot(): CapacityEntry[] {
    const entries: CapacityEntry[] = [];
    const seen = new Set<string>();
    for (const { key, bucket } of this.#buckets.values()) {
      entries.push({ ...key, ...bucket.state() });
      seen.add(`${key.provider}/${key.model}`);
    }
    for (const p of this.#providers)
      for (const model of [...p.models, ...p.embeddingModels])
        if (!seen.has(`${p.name}/${model}`))
          entries.push({
            provider: p.name,
            model,
            account: NO_ACCOUNT,
            ...new CapacityBucket(bucketLimits(p, model), this.#now).state(),
          });
    return entries.sort((a, b) =>
      `${a.provider}/${a.model}/${a.account}`.localeCompare(`${b.provider}/${b.model}/${b.account}`),
    );
  }
}
