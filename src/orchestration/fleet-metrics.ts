/**
 * @module orchestration/fleet-metrics
 * The fleet report (all tenants, all history) as Prometheus gauges, computed on scrape from the
 * store and cached for a short while, so several scrapers or a scrape of every gauge read the
 * database once. Gauges, not counters: the figures are read back from the store, and another
 * process may have written them.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../kernel/index.ts';
import { fleetReport, type FleetReport } from './fleet-report.ts';

export interface FleetMetricsOptions {
  /** How long a computed report serves scrapes. @default 15_000 */
  readonly cacheMs?: number;
}

const registered = new WeakSet<Registry>();

export function registerFleetMetrics(
  registry: Registry,
  store: Store,
  options: FleetMetricsOptions = {},
): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  const cacheMs = options.cacheMs ?? 15_000;
  let cached: { at: number; report: Promise<FleetReport> } | undefined;
  const report = (): Promise<FleetReport> => {
    if (!cached || Date.now() - cached.at >= cacheMs) {
      const fresh = fleetReport(store);
      // A failed read must not be served until the cache expires.
      fresh.catch(() => (cached = undefined));
      cached = { at: Date.now(), report: fresh };
    }
    return cached.report;
  };

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    set: (g: Gauge<L>, r: FleetReport) => void,
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const r = await report();
        this.reset();
        set(this, r);
      },
    });
  };
  const setMaybe = (g: Gauge, value: number | null): void => {
    if (value !== null) g.set(value);
  };

  gauge('strata_fleet_syscalls', 'Audited syscalls by layer and outcome.', ['layer', 'outcome'], (g, r) => {
    for (const s of r.syscalls) {
      g.set({ layer: s.layer, outcome: 'ok' }, s.ok);
      g.set({ layer: s.layer, outcome: 'failed' }, s.failed);
      g.set({ layer: s.layer, outcome: 'denied' }, s.denied);
      g.set({ layer: s.layer, outcome: 'throttled' }, s.throttled);
    }
  });
  gauge('strata_fleet_restarts', 'Supervised child restarts (incarnations above 1).', [], (g, r) =>
    g.set(r.restarts.total),
  );
  gauge('strata_fleet_stalls', 'Stalls detected (live runs without progress).', [], (g, r) =>
    g.set(r.stalls),
  );
  gauge('strata_fleet_deaths', 'Runs taken over after their worker stopped heartbeating.', [], (g, r) =>
    g.set(r.deaths.detected),
  );
  gauge(
    'strata_fleet_detection_latency_seconds',
    'Lease expiry to takeover, by quantile (0.5, 0.95).',
    ['quantile'],
    (g, r) => {
      const q = r.deaths.detectionLatencyMs;
      if (!q) return;
      g.set({ quantile: '0.5' }, q.p50 / 1000);
      g.set({ quantile: '0.95' }, q.p95 / 1000);
    },
  );
  gauge(
    'strata_fleet_duplicate_work',
    'Older incarnations still live beside a newer one (must be 0).',
    [],
    (g, r) => g.set(r.duplicateWork.total),
  );
  gauge('strata_fleet_escalations', 'Escalations by state (total, open, acked).', ['state'], (g, r) => {
    g.set({ state: 'total' }, r.escalations.total);
    g.set({ state: 'open' }, r.escalations.open);
    g.set({ state: 'acked' }, r.escalations.acked);
  });
  gauge('strata_fleet_escalation_time_to_ack_seconds', 'Median time from raise to ack.', [], (g, r) =>
    setMaybe(g, r.escalations.medianTimeToAckMs === null ? null : r.escalations.medianTimeToAckMs / 1000),
  );
  gauge('strata_fleet_approvals', 'Approvals by state (pending, decided, timed_out).', ['state'], (g, r) => {
    g.set({ state: 'pending' }, r.approvals.pending);
    g.set({ state: 'decided' }, r.approvals.decided);
    g.set({ state: 'timed_out' }, r.approvals.timedOut);
  });
  gauge(
    'strata_fleet_approval_time_to_decision_seconds',
    'Median time to a decision by a person.',
    [],
    (g, r) =>
      setMaybe(
        g,
        r.approvals.medianTimeToDecisionMs === null ? null : r.approvals.medianTimeToDecisionMs / 1000,
      ),
  );
  gauge('strata_fleet_completed_tasks', 'Completed run trees (root runs).', [], (g, r) =>
    g.set(r.tasks.completed),
  );
  gauge(
    'strata_fleet_cost_per_completed_task_micros',
    'Metered cost of completed run trees per task, failed attempts and restarts included.',
    [],
    (g, r) => setMaybe(g, r.tasks.costPerCompletedTaskMicros),
  );
}
