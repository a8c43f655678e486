/**
 * @module tools/testing
 * Test support for the tools layer (not exported from the module index): a kernel on a temporary
 * SQLite file with the tools syscalls registered, a captured pino log, an in-memory span exporter,
 * a tenant, and principals with chosen grants.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createLogger, Kernel, type Grant, type Principal } from '../kernel/index.ts';
import { createSqliteStore } from '../kernel/store/drivers/sqlite/index.ts';
import { ToolsLayer } from './layer.ts';
import { attachTools } from './mcp/strata-server.ts';
import { toolsSyscalls } from './syscalls.ts';

export interface ToolsTestEnv {
  readonly kernel: Kernel;
  readonly tools: ToolsLayer;
  readonly tenantId: string;
  /** A principal of the env's tenant holding every grant. */
  readonly admin: Principal;
  readonly spans: InMemorySpanExporter;
  logText(): string;
  /** An API-key principal of the env's tenant holding `grants`. */
  principal(grants: Grant[]): Promise<Principal>;
  call<T = Record<string, unknown>>(name: string, input: unknown, principal?: Principal): Promise<T>;
  close(): Promise<void>;
}

export async function openToolsEnv(): Promise<ToolsTestEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-tools-'));
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const store = await createSqliteStore({ path: join(dir, 'strata.db') });
  const masterKey = randomBytes(32);
  const kernel = await Kernel.open({ store, masterKey, logger, tracer: provider.getTracer('test') });
  const tools = await ToolsLayer.open({ store, masterKey, logger, syncIntervalMs: 100 });
  for (const definition of toolsSyscalls(tools)) kernel.register(definition);
  attachTools(kernel, tools);
  const tenant = await kernel.principals.createTenant(`tools-${process.pid}`);
  let seq = 0;
  const principal = async (grants: Grant[]): Promise<Principal> => {
    const { key } = await kernel.principals.createApiKey({ tenantId: tenant.id, name: `k${++seq}`, grants });
    return kernel.authenticate({ apiKey: key });
  };
  const admin = await principal([{ syscall: '*', resource: '*' }]);
  return {
    kernel,
    tools,
    tenantId: tenant.id,
    admin,
    spans,
    logText: () => lines.join(''),
    principal,
    call: (name, input, who) => kernel.call(name, input, { principal: who ?? admin }),
    close: async () => {
      await tools.close();
      await kernel.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { eventually } from '../testkit/eventually.ts';
