/**
 * @module server/server
 * Serves the app over HTTP with `@hono/node-server`, and shuts it down gracefully:
 *
 *   stop accepting connections → health turns 503, new API requests get 503 E_SHUTTING_DOWN →
 *   stop the in-process worker (its runs finish or suspend, up to `server.drainTimeoutMs`) →
 *   wait (up to `server.drainTimeoutMs`) for in-flight requests and the kernel's in-flight calls →
 *   close idle keep-alive connections → close the runtime (audit flush, store close).
 *
 * In-flight calls therefore finish and are answered; nothing is cut off unless the drain times out.
 *
 * @example
 * const handle = await startServer({ runtime });
 * installSignalHandlers(handle);            // SIGINT/SIGTERM → handle.close(), then exit
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAdaptorServer } from '@hono/node-server';
import { StrataError, type Logger } from '../kernel/index.ts';
import { agentIdentityRoutes } from '../identity/index.ts';
import { dashboardRoutes } from '../web/index.ts';
import { a2aEndpoint } from './a2a.ts';
import { createApp } from './app.ts';
import { eventStreamRoutes } from './events-stream.ts';
import { Lifecycle } from './lifecycle.ts';
import { mailEventRoutes } from './mail-events.ts';
import { runStreamRoutes } from './run-stream.ts';
import { loadMasterKey, type Runtime } from './runtime.ts';

/** After the drain, how long responses still being written get before their sockets are cut. */
const LINGER_MS = 1_000;

export interface StartServerOptions {
  runtime: Runtime;
  /** @default runtime.config.server.host */
  host?: string;
  /** 0 picks a free port. @default runtime.config.server.port */
  port?: number;
  /** @default the kernel's logger */
  logger?: Logger;
}

export interface ServerHandle {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly server: Server;
  /** Graceful shutdown (see the module comment); also closes the runtime. Idempotent. */
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (cause: Error): void => {
      const message = `cannot listen on ${host}:${port}: ${cause.message}; choose another --port or --host`;
      reject(new StrataError('E_CONFIG', message, { key: 'server.port' }, { cause }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startServer(options: StartServerOptions): Promise<ServerHandle> {
  const { runtime } = options;
  const { kernel, config } = runtime;
  const logger = (options.logger ?? kernel.logger).child({ component: 'http' });
  const lifecycle = new Lifecycle();
  // The identity documents and JWKS of the default tenant's agents are public, like a website's.
  const tenants = await kernel.principals.listTenants();
  const published = tenants.find((t) => t.name === 'default') ?? tenants[0];
  // Its agents also answer A2A 1.0, their cards signed by their own keys (see ./a2a.ts).
  const a2a = published
    ? a2aEndpoint({
        kernel,
        identities: runtime.identity.identities,
        tenantId: published.id,
        masterKey: loadMasterKey(config),
        bodyLimitBytes: config.server.bodyLimitBytes,
        allowPrivate: config.network.allowPrivate,
        engine: runtime.engine,
        workflows: config.a2a.workflows,
      })
    : undefined;
  const publicRoutes = [
    // The dashboard authenticates by its own session cookie (web/session.ts), so it is mounted
    // beside the public routes rather than behind the bearer check of `/v1`.
    dashboardRoutes({ kernel, runs: { engine: runtime.engine, streams: runtime.runStreams } }),
    ...(published && a2a
      ? [
          agentIdentityRoutes({
            identities: runtime.identity.identities,
            tenantId: published.id,
            clock: kernel.clock,
          }),
          a2a.routes,
        ]
      : []),
  ];
  const apiRoutes = [
    mailEventRoutes({ kernel, events: runtime.identity.mailEvents.events }),
    runStreamRoutes({ kernel, engine: runtime.engine, streams: runtime.runStreams }),
    eventStreamRoutes({ kernel }),
  ];
  const app = createApp({
    kernel,
    config,
    logger: options.logger ?? kernel.logger,
    lifecycle,
    publicRoutes,
    apiRoutes,
  });
  // createAdaptorServer builds a plain `http.Server` unless told to use http2/https.
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const address = await listen(
    server,
    options.host ?? config.server.host,
    options.port ?? config.server.port,
  );
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, 'listening');
  // Cards carry their own URLs: the listening URL (no public-URL setting exists yet).
  a2a?.listening(url);

  const shutdown = async (): Promise<void> => {
    lifecycle.startDraining();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const timeout = config.server.drainTimeoutMs;
    logger.info({ inFlight: lifecycle.inFlight, timeoutMs: timeout }, 'draining');
    // Runs in progress make syscalls, which a draining kernel refuses (failing the run): let the
    // in-process worker finish or suspend them before the kernel stops taking calls.
    await runtime.stopWorker();
    const [calls, requests] = await Promise.all([kernel.drain(timeout), lifecycle.waitIdle(timeout)]);
    if (calls + requests > 0) logger.warn({ calls, requests }, 'drain timed out; closing anyway');
    server.closeIdleConnections();
    // A ref'd timer: sockets that are paused (e.g. after a refused upload) do not keep the event loop
    // alive, and the process must not exit halfway through its own shutdown.
    const linger = new AbortController();
    await Promise.race([
      stopped,
      sleep(LINGER_MS, undefined, { signal: linger.signal }).catch(() => undefined),
    ]);
    linger.abort();
    server.closeAllConnections();
    await stopped;
    await a2a?.close();
    await runtime.close();
    logger.info('stopped');
  };
  let closing: Promise<void> | undefined;
  return { url, server, close: () => (closing ??= shutdown()) };
}

export interface SignalHandlerOptions {
  logger?: Logger;
  /** Called with the exit code once shut down (0, or 1 if shutdown failed). @default process.exit */
  exit?: (code: number) => void;
}

/**
 * On the first SIGINT/SIGTERM closes `handle` gracefully, then exits; a second signal exits at once
 * (128 + signal number, the shell convention). Returns a function that removes the handlers.
 */
export function installSignalHandlers(
  handle: Pick<ServerHandle, 'close'>,
  options: SignalHandlerOptions = {},
): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { logger } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger?.warn({ signal }, 'second signal: exiting without waiting for the drain');
      exit(128 + constants.signals[signal]);
      return;
    }
    stopping = true;
    logger?.info({ signal }, 'shutting down gracefully; send the signal again to stop at once');
    void handle.close().then(
      () => exit(0),
      (error: unknown) => {
        logger?.error({ err: error }, 'graceful shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
