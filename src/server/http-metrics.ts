/**
 * @module server/http-metrics
 * Request counters and latency histograms, registered on the kernel's prom-client registry so
 * `/metrics` shows HTTP and syscall figures side by side. Labels use the matched route pattern
 * (`/v1/syscalls/:name`), never the raw path: a client must not be able to grow the label set.
 * The same middleware writes one access log line per request (no headers, no query, no body).
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../kernel/index.ts';
import type { AppEnv } from './types.ts';

interface HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
}

/** Metrics per registry: a second app over the same kernel (tests) reuses them instead of clashing. */
const byRegistry = new WeakMap<Registry, HttpMetrics>();

function metricsFor(registry: Registry): HttpMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics === undefined) {
    metrics = {
      requests: new Counter({
        name: 'strata_http_requests_total',
        help: 'HTTP requests by method, matched route and status.',
        labelNames: ['method', 'route', 'status'] as const,
        registers: [registry],
      }),
      duration: new Histogram({
        name: 'strata_http_request_duration_seconds',
        help: 'Time to produce an HTTP response, by method and matched route.',
        labelNames: ['method', 'route'] as const,
        buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
        registers: [registry],
      }),
    };
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function httpMetrics(registry: Registry, logger: Logger): MiddlewareHandler<AppEnv> {
  const metrics = metricsFor(registry);
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
    // The last matched registration is the route handler, or the widest middleware when none matched.
    const route = routePath(c, -1) || 'unmatched';
    const status = c.res.status;
    metrics.requests.inc({ method, route, status: String(status) });
    metrics.duration.observe({ method, route }, seconds);
    // Probes and scrapes arrive every few seconds; keep them out of the info-level log.
    const level = route === '/healthz' || route === '/metrics' ? 'debug' : 'info';
    logger[level](
      {
        requestId: c.get('requestId'),
        method,
        path: c.req.path.slice(0, 200),
        status,
        ms: Math.round(seconds * 1e4) / 10,
      },
      'request',
    );
  };
}
