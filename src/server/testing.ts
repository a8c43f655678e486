/**
 * @module server/testing
 * Test support for the server tests (not exported from the module index): a real runtime on
 * SQLite (a temp directory) or a fresh PostgreSQL database, the app over it, a pino logger whose
 * lines are captured, and helpers to create tenants and keys, send requests and count every row of
 * every table (to prove a refused request changed nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { configSchema, createLogger, type ConfigInput, type Grant, type Kernel } from '../kernel/index.ts';
import { createTestDatabase } from '../testkit/pg.ts';
import { createApp } from './app.ts';
import { Lifecycle } from './lifecycle.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import type { AppEnv } from './types.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface ServerTestEnv {
  readonly runtime: Runtime;
  readonly kernel: Kernel;
  readonly app: Hono<AppEnv>;
  readonly lifecycle: Lifecycle;
  /** Every log line written so far (kernel and HTTP), as raw JSON text. */
  logText(): string;
  /** A new tenant with an API key holding `grants` (default: everything). */
  tenant(grants?: Grant[]): Promise<{ tenantId: string; key: string; keyId: string }>;
  /** Creates another key in `tenantId`. */
  key(tenantId: string, grants: Grant[]): Promise<{ key: string; keyId: string }>;
  /** Row count of every table, by table name. */
  tableCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface TestEnvOptions {
  dialect?: Dialect;
  server?: ConfigInput['server'];
}

let seq = 0;

export const ALL: Grant[] = [{ syscall: '*', resource: '*' }];

export async function openTestEnv(options: TestEnvOptions = {}): Promise<ServerTestEnv> {
  const dialect = options.dialect ?? 'sqlite';
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-server-'));
  const db = dialect === 'postgres' ? await createTestDatabase() : undefined;
  const config = configSchema.parse({ dataDir, databaseUrl: db?.url, server: options.server ?? {} });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const runtime = await openRuntime({ config, logger });
  const { kernel } = runtime;
  const lifecycle = new Lifecycle();
  const app = createApp({ kernel, config, lifecycle });
  const tablesSql =
    dialect === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
      : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1';

  const key = async (tenantId: string, grants: Grant[]) => {
    const created = await kernel.principals.createApiKey({ tenantId, name: `k${++seq}`, grants });
    return { key: created.key, keyId: created.record.id };
  };
  return {
    runtime,
    kernel,
    app,
    lifecycle,
    logText: () => lines.join(''),
    tenant: async (grants = ALL) => {
      const tenant = await kernel.principals.createTenant(`t-${process.pid}-${++seq}`);
      return { tenantId: tenant.id, ...(await key(tenant.id, grants)) };
    },
    key,
    tableCounts: async () => {
      await kernel.audit.flush();
      const counts: Record<string, number> = {};
      for (const { name } of await kernel.store.all<{ name: string }>(tablesSql)) {
        const row = await kernel.store.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM "${name}"`);
        counts[name] = Number(row?.n);
      }
      return counts;
    },
    close: async () => {
      await runtime.close();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  key?: string;
  headers?: Record<string, string>;
  /** A raw body; otherwise `input` is sent as JSON. */
  body?: RequestInit['body'];
}

/** POSTs `input` to a syscall the way a client would; returns status, headers and parsed body. */
export async function post(
  app: Hono<AppEnv>,
  name: string,
  input: unknown,
  options: CallOptions = {},
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.key !== undefined) headers['authorization'] = `Bearer ${options.key}`;
  const res = await app.request(`/v1/syscalls/${name}`, {
    method: 'POST',
    headers,
    body: options.body ?? JSON.stringify(input),
    // Required by fetch's Request for a streamed body (and harmless for a string).
    duplex: 'half',
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: JSON.parse(text) as Record<string, unknown>,
  };
}

/** GETs a path with an optional key. */
export async function get(app: Hono<AppEnv>, path: string, key?: string): Promise<Response> {
  return app.request(path, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
}

/** `{ error: { code } }` of a parsed error body. */
export const codeOf = (json: Record<string, unknown>): unknown =>
  (json['error'] as { code?: unknown } | undefined)?.code;
