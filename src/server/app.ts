/**
 * @module server/app
 * The HTTP API as a Hono app, a thin shell over the kernel: it authenticates the caller, turns the
 * request into `kernel.call(name, input, { principal })`, and the response into JSON. It adds no
 * behaviour of its own beyond reading requests safely; authorization, validation, audit and metering
 * all happen in the kernel's pipeline, exactly as for every other surface.
 *
 * Routes: `GET /healthz`, `GET /metrics`, `GET /v1/openapi.json` (public); `GET /v1/whoami`,
 * `GET /v1/syscalls`, `GET /v1/syscalls/:name`, `POST /v1/syscalls/:name` (bearer auth); `/mcp`
 * (MCP over Streamable HTTP, bearer auth); `GET /mcp/server-card` and its legacy alias
 * `/.well-known/mcp/server-card.json` (the MCP Server Card, public).
 *
 * @example
 * const app = createApp({ kernel: runtime.kernel, config: runtime.config });
 * const res = await app.request('/v1/syscalls/kernel.echo', {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ message: 'hi' }),
 * });
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import { StrataError, type Kernel, type Logger, type StrataConfig } from '../kernel/index.ts';
import { authenticate } from './auth.ts';
import { notFound, onError } from './errors.ts';
import { httpMetrics } from './http-metrics.ts';
import { Lifecycle } from './lifecycle.ts';
import { mcpCardRoutes, mcpRoutes } from './mcp.ts';
import { openApiFor } from './openapi.ts';
import { whoamiOf, type Whoami } from './schemas.ts';
import { syscallRoutes } from './syscalls.ts';
import type { AppEnv } from './types.ts';

export interface AppOptions {
  kernel: Kernel;
  config: StrataConfig;
  /** @default the kernel's logger */
  logger?: Logger;
  /** Shared with {@link startServer}, which drives shutdown through it. @default a fresh one */
  lifecycle?: Lifecycle;
  /** Unauthenticated routes mounted at the root (e.g. `/.well-known/jwks.json`, agent documents). */
  publicRoutes?: readonly Hono[];
  /** Routes mounted under `/v1` behind authentication (e.g. `GET /v1/mail/events`). */
  apiRoutes?: readonly Hono<AppEnv>[];
}

/**
 * Counts requests in flight, so shutdown can wait for them. A response finished while draining
 * carries `Connection: close`, so Node ends its keep-alive socket and the server can close at once.
 */
const track =
  (lifecycle: Lifecycle): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    lifecycle.enter();
    try {
      await next();
      if (lifecycle.draining) c.header('Connection', 'close');
    } finally {
      lifecycle.leave();
    }
  };

const refuseWhileDraining =
  (lifecycle: Lifecycle): MiddlewareHandler<AppEnv> =>
  async (_c, next) => {
    if (lifecycle.draining)
      throw new StrataError('E_SHUTTING_DOWN', 'Strata is shutting down; retry shortly');
    await next();
  };

export function createApp(options: AppOptions): Hono<AppEnv> {
  const { kernel, config } = options;
  const logger = (options.logger ?? kernel.logger).child({ component: 'http' });
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const metrics = kernel.metrics.registry;
  const app = new Hono<AppEnv>();
  app.onError(onError(logger));
  app.notFound(notFound(logger));

  app.use('*', requestId());
  app.use('*', httpMetrics(metrics, logger));
  app.use('*', track(lifecycle));

  // Public routes come first: they answer without calling `next`, so the `/v1/*` middleware
  // registered after them (draining, authentication) never runs for them.
  app.get('/healthz', (c) =>
    lifecycle.draining ? c.json({ status: 'draining' }, 503) : c.json({ status: 'ok' }),
  );
  app.get('/metrics', async (c) =>
    c.body(await metrics.metrics(), 200, { 'Content-Type': metrics.contentType }),
  );
  app.get('/v1/openapi.json', (c) => c.json(openApiFor(kernel.registry)));
  for (const routes of options.publicRoutes ?? []) app.route('/', routes);
  app.route('/', mcpCardRoutes());

  app.use('/v1/*', refuseWhileDraining(lifecycle));
  app.use('/v1/*', authenticate(kernel));
  app.get('/v1/whoami', (c) => c.json(whoamiOf(c.get('principal')) satisfies Whoami));
  app.route('/v1/syscalls', syscallRoutes(kernel, config));
  for (const routes of options.apiRoutes ?? []) app.route('/v1', routes);
  app.use('/mcp', refuseWhileDraining(lifecycle));
  app.route('/mcp', mcpRoutes(kernel, { bodyLimitBytes: config.server.bodyLimitBytes }));
  return app;
}
