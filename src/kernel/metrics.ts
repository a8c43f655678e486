/**
 * @module kernel/metrics
 * Prometheus metrics (prom-client), one registry per kernel so two kernels in one process (tests,
 * benchmarks) never share counters. The server exposes `registry.metrics()` at `/metrics`.
 */
import { Counter, Histogram, Registry } from 'prom-client';

export class KernelMetrics {
  readonly registry = new Registry();
  readonly syscalls = new Counter({
    name: 'strata_syscalls_total',
    help: 'Syscalls by name and outcome (ok, error, denied, replayed).',
    labelNames: ['syscall', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly syscallErrors = new Counter({
    name: 'strata_syscall_errors_total',
    help: 'Failed syscalls by name and stable error code.',
    labelNames: ['syscall', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'strata_syscall_duration_seconds',
    help: 'Wall time of syscalls through the whole pipeline.',
    labelNames: ['syscall'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'strata_syscall_retries_total',
    help: 'Attempts retried by the pipeline’s retry policy.',
    labelNames: ['syscall'] as const,
    registers: [this.registry],
  });
  readonly costMicros = new Counter({
    name: 'strata_syscall_cost_micros_total',
    help: 'Metered cost of syscalls, in micro-units.',
    labelNames: ['syscall'] as const,
    registers: [this.registry],
  });
  readonly chaosFaults = new Counter({
    name: 'strata_chaos_faults_total',
    help: 'Faults injected by chaos (fault injection), by layer and kind (error, latency, outage, or a named fault).',
    labelNames: ['layer', 'kind'] as const,
    registers: [this.registry],
  });
}
