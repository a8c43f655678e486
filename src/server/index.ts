/**
 * @module strata/server
 * The HTTP surface: the Hono app over a kernel, the Node server with graceful shutdown, and the
 * runtime that turns a configuration into a kernel. Any new export added here becomes public API.
 *
 * @example
 * const runtime = await openRuntime({ config: loadConfig({ env: process.env }) });
 * await bootstrapDefaultTenant(runtime);
 * const handle = await startServer({ runtime });
 * installSignalHandlers(handle);
 */
export { createApp, type AppOptions } from './app.ts';
export { Lifecycle } from './lifecycle.ts';
export { buildOpenApi } from './openapi.ts';
export {
  bootstrapDefaultTenant,
  openRuntime,
  type BootstrapResult,
  type OpenRuntimeOptions,
  type Runtime,
} from './runtime.ts';
export {
  installSignalHandlers,
  startServer,
  type ServerHandle,
  type SignalHandlerOptions,
  type StartServerOptions,
} from './server.ts';
export { loadWorkflows } from './workflows.ts';
