// Strata's side of bench/orchestration.ts: no-op jobs and three-step durable workflows on a store.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Principal, Store } from '../../src/kernel/index.ts';
import { defineWorkflow, Engine, waitForRun, Worker } from '../../src/orchestration/index.ts';
import { percentile } from '../_util.ts';

const principal: Principal = { tenantId: 'ten_bench', id: 'key_bench', kind: 'api_key', grants: [] };

const noop = defineWorkflow({ name: 'noop', version: 1, input: z.number(), output: z.null() }, () =>
  Promise.resolve(null),
);
const threeSteps = defineWorkflow(
  { name: 'three', version: 1, input: z.number(), output: z.number() },
  async (ctx, n) => {
    const a = await ctx.step('a', () => n + 1);
    const b = await ctx.step('b', () => a + 1);
    return ctx.step('c', () => b + 1);
  },
);
const manySteps = defineWorkflow(
  { name: 'many', version: 1, input: z.number(), output: z.number() },
  async (ctx, steps) => {
    let total = 0;
    for (let i = 0; i < steps; i++) total += await ctx.step(`s${i}`, () => i);
    return total;
  },
);

async function setup(
  store: Store,
  workers: number,
  concurrency: number,
): Promise<{ engine: Engine; stop(): Promise<void> }> {
  const engine = await Engine.open({ store });
  for (const def of [noop, threeSteps, manySteps]) engine.register(def);
  const started = Array.from(
    { length: workers },
    () => new Worker(engine, { concurrency, pollMs: 50, leaseMs: 30_000 }),
  );
  await Promise.all(started.map((w) => w.start()));
  return {
    engine,
    async stop() {
      await Promise.all(started.map((w) => w.stop()));
    },
  };
}

async function waitAll(store: Store, total: number, status = 'completed'): Promise<void> {
  for (;;) {
    const row = await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM orch_runs WHERE status = ?', [
      status,
    ]);
    if (Number(row?.n) >= total) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface JobFigures {
  jobsPerS: number;
  enqueueMs: number;
  processMs: number;
}

/** (a) `jobs` no-op runs enqueued, then processed by `workers` workers. */
export async function strataJobs(
  store: Store,
  jobs: number,
  workers = 4,
  concurrency = 50,
): Promise<JobFigures> {
  const engine = await Engine.open({ store });
  engine.register(noop);
  const t0 = performance.now();
  await engine.startMany(
    'noop',
    Array.from({ length: jobs }, (_, i) => i),
    { principal },
  );
  const enqueueMs = performance.now() - t0;
  const running = await setup(store, workers, concurrency);
  const t1 = performance.now();
  await waitAll(store, jobs);
  const processMs = performance.now() - t1;
  await running.stop();
  return { jobsPerS: jobs / (processMs / 1000), enqueueMs, processMs };
}

export interface WorkflowFigures {
  workflowsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

/** (b) `total` three-step workflows, `concurrency` in flight at a time, end-to-end latency each. */
export async function strataWorkflows(
  store: Store,
  total: number,
  concurrency = 50,
): Promise<WorkflowFigures> {
  const running = await setup(store, 1, concurrency);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const n = next++;
        const started = performance.now();
        const run = await running.engine.start('three', n, { principal });
        // The documented way to await a run (DBOS's caller also learns of the end in process).
        const ended = await waitForRun(running.engine, principal.tenantId, run.id);
        if (ended.status !== 'completed') throw new Error(`run ${run.id} ended ${ended.status}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await running.stop();
  latencies.sort((a, b) => a - b);
  return {
    workflowsPerS: total / (elapsed / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Journaled step cost: runs of `steps` no-op steps; per run, its journal's span divided by its steps; p50 over runs. */
export async function strataStepOverhead(
  store: Store,
  steps = 200,
  repeats = 10,
): Promise<{ stepP50Us: number }> {
  const running = await setup(store, 1, 1);
  const perStep: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const run = await running.engine.start('many', steps, {
      principal,
      idempotencyKey: `many-${r}-${randomBytes(4).toString('hex')}`,
    });
    for (;;) {
      const row = await store.get<{ status: string }>('SELECT status FROM orch_runs WHERE id = ?', [run.id]);
      if (row?.status === 'completed') break;
      await new Promise((res) => setTimeout(res, 2));
    }
    const span = await store.get<{ first: number; last: number }>(
      'SELECT MIN(started_at) AS first, MAX(finished_at) AS last FROM orch_journal WHERE run_id = ?',
      [run.id],
    );
    perStep.push(((Number(span?.last) - Number(span?.first)) * 1000) / steps);
  }
  await running.stop();
  perStep.sort((a, b) => a - b);
  return { stepP50Us: percentile(perStep, 50) };
}
