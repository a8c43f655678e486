/**
 * @module models/health
 * Model buckets' health readings (kernel/health.ts), one per provider and model this process has
 * called: degraded while a provider's Retry-After pauses one of its buckets (calls wait, they do
 * not fail). Read from the capacity buckets' state; never a call to the provider. Accounts are not
 * named: they can identify a tenant's credentials.
 */
import type { DriverHealth } from '../kernel/index.ts';
import type { CapacityEntry } from './capacity.ts';

export function capacityHealth(buckets: readonly CapacityEntry[], now: number): DriverHealth[] {
  const byModel = new Map<string, CapacityEntry[]>();
  for (const b of buckets) {
    const key = `${b.provider}/${b.model}`;
    byModel.set(key, [...(byModel.get(key) ?? []), b]);
  }
  return [...byModel].map(([key, entries]): DriverHealth => {
    const base = { id: `model.${key}`, layer: 'models', name: `model ${key}`, since: null };
    const paused = entries.filter((b) => b.pausedUntil !== null && b.pausedUntil > now);
    const until = Math.max(...paused.map((b) => b.pausedUntil ?? 0));
    const queued = entries.reduce((n, b) => n + b.queued, 0);
    return paused.length === 0
      ? { ...base, status: 'healthy', reason: `${queued} calls waiting` }
      : {
          ...base,
          status: 'degraded',
          reason: `paused by the provider's Retry-After until ${new Date(until).toISOString()}; ${queued} calls waiting`,
        };
  });
}
