/**
 * Test support for the orchestration tests (not exported from the index): an engine and a worker on
 * a fresh database, a principal, and a helper that waits until a run reaches a status.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, Kernel, type Clock, type Principal, type Store } from '../kernel/index.ts';
import type { StoreHandle } from '../testkit/stores.ts';
import { Engine } from './engine.ts';
import type { Run, RunStatus } from './run-row.ts';
import { Worker, type WorkerOptions } from './worker.ts';

export interface Harness {
  readonly store: Store;
  readonly engine: Engine;
  readonly kernel: Kernel;
  readonly principal: Principal;
  worker(options?: WorkerOptions): Promise<Worker>;
  waitFor(runId: string, statuses: readonly RunStatus[], timeoutMs?: number): Promise<Run>;
  close(): Promise<void>;
}

const masterKey = randomBytes(32);

export async function harness(
  db: StoreHandle,
  tenantName = `t${randomBytes(4).toString('hex')}`,
  /** The engine's clock: a ManualClock lets a test decide when a delayed run is due. */
  clock?: Clock,
): Promise<Harness> {
  const store = await db.open();
  const engine = await Engine.open({ store, clock });
  const kernel = await Kernel.open({ store, masterKey, meter: engine.meterHook });
  engine.attachKernel(kernel);
  const tenant = await kernel.principals
    .getTenant(tenantName)
    .catch(() => kernel.principals.createTenant(tenantName));
  const { key } = await kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'test',
    grants: [{ syscall: '*', resource: '*' }],
  });
  const principal = await kernel.authenticate({ apiKey: key });
  const workers: Worker[] = [];
  return {
    store,
    engine,
    kernel,
    principal,
    async worker(options = {}) {
      const logger = process.env['STRATA_TEST_LOG'] ? createLogger({ level: 'debug' }) : undefined;
      const worker = new Worker(engine, { pollMs: 20, leaseMs: 2_000, logger, ...options });
      workers.push(worker);
      await worker.start();
      return worker;
    },
    async waitFor(runId, statuses, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = await engine.get(principal.tenantId, runId);
        if (statuses.includes(run.status)) return run;
        if (Date.now() > deadline)
          throw new Error(`run ${runId} is ${run.status}, not ${statuses.join('|')} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await kernel.close();
    },
  };
}
