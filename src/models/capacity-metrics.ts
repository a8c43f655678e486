/**
 * @module models/capacity-metrics
 * The capacity buckets on /metrics: how long calls waited for admission, how often and how long
 * providers' Retry-After paused a bucket, and (read on scrape) calls queued and in flight. Labels
 * are provider and model from the config, never the account or tenant: the label set stays bounded.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Capacity } from './capacity.ts';

const registered = new WeakSet<Registry>();

export function registerCapacityMetrics(registry: Registry, capacity: Capacity): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  const labelNames = ['provider', 'model'] as const;
  const wait = new Histogram({
    name: 'strata_model_queue_wait_seconds',
    help: 'Time model calls waited for admission (rate, tokens, concurrency, Retry-After pause).',
    labelNames,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const pauses = new Counter({
    name: 'strata_model_retry_after_pauses_total',
    help: 'Buckets paused by a provider’s 429 Retry-After.',
    labelNames,
    registers: [registry],
  });
  const paused = new Counter({
    name: 'strata_model_retry_after_pause_seconds_total',
    help: 'Seconds of Retry-After pause providers asked for.',
    labelNames,
    registers: [registry],
  });
  const gauge = (name: string, help: string, value: (b: ReturnType<Capacity['snapshot']>[0]) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        const sums = new Map<string, { provider: string; model: string; n: number }>();
        for (const b of capacity.snapshot()) {
          const id = `${b.provider}/${b.model}`;
          const sum = sums.get(id) ?? { provider: b.provider, model: b.model, n: 0 };
          sum.n += value(b);
          sums.set(id, sum);
        }
        for (const s of sums.values()) this.set({ provider: s.provider, model: s.model }, s.n);
      },
    });
  gauge('strata_model_queued_calls', 'Model calls waiting for admission.', (b) => b.queued);
  gauge('strata_model_inflight_calls', 'Model calls admitted and not finished.', (b) => b.concurrency.used);
  capacity.observe({
    waited: (key, ms) => wait.observe({ provider: key.provider, model: key.model }, ms / 1000),
    paused: (key, ms) => {
      pauses.inc({ provider: key.provider, model: key.model });
      paused.inc({ provider: key.provider, model: key.model }, ms / 1000);
    },
  });
}
