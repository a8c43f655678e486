/**
 * @module web/testing
 * Test support for the dashboard (not exported): a real runtime with an in-process worker and a few
 * workflows, the real HTTP server on a loopback port, a tenant with an admin key, and a browser-like
 * client that logs in, keeps the session cookie and posts forms with the CSRF token and Origin a page
 * of the dashboard would send. `restart()` closes the server and the runtime and opens both again on
 * the same data, as a redeploy would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { configSchema, createLogger, StrataError, type Grant } from '../kernel/index.ts';
import { defineWorkflow, type WorkflowDefinition } from '../orchestration/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { createTestDatabase } from '../testkit/pg.ts';
import { csrfOf, SESSION_COOKIE } from './session.ts';

/** Asks an operator, then returns the decision. */
export const approveWorkflow = defineWorkflow(
  { name: 'dash.approve', version: 1, input: z.object({ question: z.string() }), output: z.unknown() },
  async (ctx, input) => {
    const decision = await ctx.approve({
      question: input.question,
      timeoutMs: 3_600_000,
      onTimeout: 'escalate',
    });
    return { approved: decision.approved, by: decision.decidedBy };
  },
);
/** Finishes at once, or fails with a given code. */
export const quickWorkflow = defineWorkflow(
  { name: 'dash.quick', version: 1, input: z.object({ fail: z.string().optional() }), output: z.unknown() },
  (_ctx, input) => {
    if (input.fail !== undefined)
      return Promise.reject(new StrataError('E_CONFLICT', `asked to fail (${input.fail})`));
    return Promise.resolve({ ok: true });
  },
);
/** Sleeps for an hour: something to cancel. */
export const sleepyWorkflow = defineWorkflow(
  { name: 'dash.sleepy', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    await ctx.sleep(3_600_000);
    return {};
  },
);

export const WORKFLOWS: readonly WorkflowDefinition[] = [
  approveWorkflow as unknown as WorkflowDefinition,
  quickWorkflow as unknown as WorkflowDefinition,
  sleepyWorkflow as unknown as WorkflowDefinition,
];

export interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface Browser {
  readonly cookie: string;
  readonly csrf: string;
  get(path: string, headers?: Record<string, string>): Promise<Page>;
  /** Posts a form as a dashboard page would (CSRF field and Origin unless overridden). */
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Page>;
}

export interface DashboardTestEnv {
  runtime: Runtime;
  server: ServerHandle;
  readonly url: string;
  readonly tenantId: string;
  readonly adminKey: string;
  readonly adminKeyId: string;
  key(grants: Grant[]): Promise<string>;
  login(key: string, options?: { readOnly?: boolean }): Promise<Browser>;
  /** A client with a given cookie (e.g. a forged or expired one). */
  browser(cookie: string): Browser;
  start(workflow: string, input: unknown): Promise<string>;
  waitForStatus(runId: string, status: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Waits for the run's pending approval and returns its id. */
  pendingApproval(runId: string): Promise<string>;
  /** Waits until the run has finished, whichever way. */
  waitForEnd(runId: string): Promise<void>;
  /** Publishes `n` `run:changed` events about no real run, in one transaction (a gap to replay). */
  publishNoise(n: number): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The message a redirect after a form carries (`?done=` or `?error=`). */
export const flashOf = (page: { headers: Headers }): string => {
  const params = new URL(page.headers.get('location') ?? '/', 'http://x').searchParams;
  return params.get('error') ?? params.get('done') ?? '';
};

const request = async (url: string, init: RequestInit): Promise<Page> => {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

export async function openDashboardEnv(
  options: {
    dialect?: 'sqlite' | 'postgres';
    /** Workflows registered besides {@link WORKFLOWS} (e.g. a supervisor a view shows). */
    workflows?: readonly WorkflowDefinition[];
    /** More config sections (e.g. `models` with a scripted, priced provider). */
    config?: Record<string, unknown>;
  } = {},
): Promise<DashboardTestEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-web-'));
  const db = options.dialect === 'postgres' ? await createTestDatabase() : undefined;
  const config = configSchema.parse({ ...options.config, dataDir, databaseUrl: db?.url });
  // STRATA_TEST_LOG=error shows what a failing view logged.
  const logger = createLogger({ level: process.env['STRATA_TEST_LOG'] === 'error' ? 'error' : 'silent' });
  const open = async (): Promise<{ runtime: Runtime; server: ServerHandle }> => {
    const runtime = await openRuntime({
      config,
      logger,
      worker: true,
      workflows: [...WORKFLOWS, ...(options.workflows ?? [])],
    });
    const server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
    return { runtime, server };
  };
  let { runtime, server } = await open();
  const tenant = await runtime.kernel.principals.createTenant(`web-${process.pid}-${Date.now()}`);
  const admin = await runtime.kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'operator',
    grants: [{ syscall: '*', resource: '*' }],
  });

  const browser = (cookie: string): Browser => {
    const csrf = csrfOf(cookie.slice(SESSION_COOKIE.length + 1));
    return {
      cookie,
      csrf,
      get: (path, headers = {}) => request(`${env.url}${path}`, { headers: { cookie, ...headers } }),
      post: (path, fields, headers = {}) =>
        request(`${env.url}${path}`, {
          method: 'POST',
          headers: {
            cookie,
            origin: env.url,
            'content-type': 'application/x-www-form-urlencoded',
            ...headers,
          },
          body: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
        }),
    };
  };

  const env: DashboardTestEnv = {
    get runtime() {
      return runtime;
    },
    get server() {
      return server;
    },
    get url() {
      return server.url;
    },
    tenantId: tenant.id,
    adminKey: admin.key,
    adminKeyId: admin.record.id,
    key: async (grants) =>
      (await runtime.kernel.principals.createApiKey({ tenantId: tenant.id, name: 'k', grants })).key,
    login: async (key, { readOnly = false } = {}) => {
      const res = await request(`${env.url}/ui/login`, {
        method: 'POST',
        headers: { origin: env.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key, ...(readOnly ? { readOnly: '1' } : {}) }).toString(),
      });
      const cookie = res.headers.get('set-cookie')?.split(';')[0];
      if (res.status !== 303 || cookie === undefined)
        throw new Error(`login failed: ${res.status} ${res.text}`);
      return browser(cookie);
    },
    browser,
    start: async (workflow, input) => {
      const principal = await runtime.kernel.authenticate({ apiKey: admin.key });
      const run = await runtime.kernel.call<{ id: string }>('runs.start', { workflow, input }, { principal });
      return run.id;
    },
    waitForStatus: async (runId, status, timeoutMs = 10_000) => {
      const principal = await runtime.kernel.authenticate({ apiKey: admin.key });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await runtime.kernel.call<{ status: string }>('runs.get', { runId }, { principal });
        if (typeof status === 'string' ? run.status === status : status.test(run.status)) return;
        if (Date.now() > deadline) throw new Error(`run ${runId} is ${run.status}, not ${status}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    pendingApproval: async (runId) => {
      const principal = await runtime.kernel.authenticate({ apiKey: admin.key });
      for (let i = 0; i < 400; i++) {
        const { approvals } = await runtime.kernel.call<{ approvals: { id: string }[] }>(
          'approvals.list',
          { runId, status: 'pending' },
          { principal },
        );
        if (approvals[0]) return approvals[0].id;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`run ${runId} has no pending approval`);
    },
    waitForEnd: (runId) => env.waitForStatus(runId, /^(completed|failed|cancelled)$/),
    publishNoise: (n) =>
      runtime.kernel.store.transaction(async (tx) => {
        for (let i = 0; i < n; i++)
          await runtime.kernel.events.publish(tx, {
            topic: 'run:changed',
            tenantId: tenant.id,
            payload: { id: `noise-${i}` },
          });
      }),
    restart: async () => {
      await server.close();
      await runtime.close();
      ({ runtime, server } = await open());
    },
    close: async () => {
      await server.close();
      await runtime.close();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
