// graphile-worker 0.18: workload (a) `jobs` no-op jobs bulk-enqueued with `addJobs()`, then drained;
// workload (b) 3-step workflows as 3 chained jobs (each step's task adds the next job).
//
// 'default' = run() with library defaults: concurrentJobs 1, maxPoolSize 10, no local queue,
//   completions and failures written one job at a time (completeJobBatchDelay/failJobBatchDelay -1).
// 'best' = the configuration of graphile-worker's performance page
//   (https://worker.graphile.org/docs/performance, "Quick stats"): `concurrentJobs: 24`,
//   `maxPoolSize: 25`, and its batching options `localQueue: { size: 500 }`,
//   `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`. All of them go in `preset.worker`: as
//   top-level run() options the batching ones are ignored (0.18 only prints "Do not know how to
//   convert config option 'localQueue' …; ignoring." and runs unbatched, ~3,500 jobs/s instead of
//   ~43,000 here). Each run checks the resolved preset handed to the 'pool:create' event
//   (ctx.resolvedPreset.worker) and that a local queue was created ('localQueue:init'), and
//   throws if the configuration did not take.
// Both configs use a silent logger (the default one prints a line per completed job) and
// `noHandleSignals`. Completed jobs are deleted by graphile-worker, so completion is persisted when
// graphile_worker._private_jobs is empty; per-job 'job:complete' events fire before a batched
// completion is written, so they only bound the workflow latencies (see runGraphileWorkflows).
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { Logger, makeWorkerUtils, run, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import { percentile } from '../_util.ts';
import {
  countUntil,
  freshDatabase,
  until,
  type JobsResult,
  type PeerConfig,
  type WorkflowsResult,
} from './_db.ts';

const REMAINING_SQL = 'SELECT count(*)::int AS n FROM graphile_worker._private_jobs';
const silent = new Logger(() => () => undefined);

const PRESETS: Record<PeerConfig, GraphileConfig.WorkerOptions> = {
  default: {},
  best: {
    concurrentJobs: 24,
    maxPoolSize: 25,
    localQueue: { size: 500 },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};

export const GRAPHILE_CONFIGS: Record<PeerConfig, string> = {
  default: 'run() defaults: concurrentJobs 1, maxPoolSize 10, no localQueue, no completion batching',
  best: 'preset.worker { concurrentJobs: 24, maxPoolSize: 25, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }',
};

interface Started {
  runner: Runner;
  events: WorkerEvents;
  /** performance.now() when the worker pool was created (its workers start fetching right after). */
  poolCreatedAt: number;
}

/** Starts a runner and checks that the resolved configuration is the one asked for. */
async function start(url: string, config: PeerConfig, taskList: TaskList): Promise<Started> {
  const events = new EventEmitter() as WorkerEvents;
  let poolCreatedAt = NaN;
  let resolved: GraphileConfig.WorkerOptions | undefined;
  let localQueues = 0;
  events.on('pool:create', ({ ctx }) => {
    poolCreatedAt = performance.now();
    resolved = ctx.resolvedPreset.worker;
  });
  events.on('localQueue:init', () => localQueues++);
  const wanted = PRESETS[config];
  const runner = await run({
    connectionString: url,
    noHandleSignals: true,
    taskList,
    preset: { worker: { ...wanted, logger: silent, events } },
  });
  const w = resolved;
  const ok =
    w !== undefined &&
    (w.concurrentJobs ?? 1) === (wanted.concurrentJobs ?? 1) &&
    (w.localQueue?.size ?? -1) === (wanted.localQueue?.size ?? -1) &&
    (w.completeJobBatchDelay ?? -1) === (wanted.completeJobBatchDelay ?? -1) &&
    (w.failJobBatchDelay ?? -1) === (wanted.failJobBatchDelay ?? -1) &&
    localQueues > 0 === (wanted.localQueue !== undefined);
  if (!ok) {
    await runner.stop();
    throw new Error(`graphile-worker did not apply the '${config}' configuration`);
  }
  return { runner, events, poolCreatedAt };
}

export async function runGraphileJobs(options: {
  /** PostgreSQL server; a fresh database is created on it and dropped afterwards. */
  url?: string;
  jobs: number;
  config: PeerConfig;
  /** Stop waiting after this long and report the rate of what completed (default 60 s). */
  maxProcessMs?: number;
}): Promise<JobsResult> {
  const { jobs, config, maxProcessMs = 60_000 } = options;
  const db = await freshDatabase(options.url);
  const utils = await makeWorkerUtils({ connectionString: db.url, logger: silent });
  const counter = new pg.Client({ connectionString: db.url });
  let runner: Runner | undefined;
  try {
    await utils.migrate();
    await counter.connect();
    const specs = Array.from({ length: jobs }, (_, i) => ({ identifier: 'noop', payload: { i } }));
    const e0 = performance.now();
    await utils.addJobs(specs);
    const enqueueMs = performance.now() - e0;

    let handled = 0;
    const noop = (): void => {
      handled++;
    };
    const t0 = performance.now();
    const started = await start(db.url, config, { noop });
    runner = started.runner;
    // Processing starts when the pool exists; run() resolving later also includes its LISTEN setup.
    const p0 = Number.isNaN(started.poolCreatedAt) ? t0 : started.poolCreatedAt;
    const deadline = p0 + maxProcessMs;
    await until(() => handled >= jobs, deadline);
    const remaining = await countUntil(
      counter,
      REMAINING_SQL,
      0,
      handled >= jobs ? performance.now() + 10_000 : 0,
    );
    const processMs = performance.now() - p0;
    const completed = jobs - remaining;
    return {
      jobsPerS: completed / (processMs / 1000),
      enqueueMs,
      processMs,
      completed,
      config: GRAPHILE_CONFIGS[config],
    };
  } finally {
    await runner?.stop().catch(() => undefined);
    await utils.release();
    await counter.end().catch(() => undefined);
    await db.drop();
  }
}

/**
 * Workload (b): `workflows` 3-step workflows, `concurrency` in flight at a time (closed loop). A
 * workflow is job `step1` (added by the benchmark); its task adds `step2` with `helpers.addJob`,
 * whose task adds `step3`. graphile-worker has no transaction spanning a task's completion and the
 * jobs it adds: the next step is committed before the step's own completion, so a crash in between
 * re-runs that step (at-least-once), where DBOS checkpoints each step exactly once.
 *
 * Latency: from the `addJob` of step 1 to the 'job:complete' event of step 3 (its handler returned
 * and its completion was issued; with completion batching, written a moment later). Throughput:
 * all workflows over the time until graphile_worker._private_jobs is empty.
 */
export async function runGraphileWorkflows(options: {
  url?: string;
  workflows: number;
  concurrency: number;
  config?: PeerConfig;
}): Promise<WorkflowsResult> {
  const { workflows, concurrency, config = 'best' } = options;
  const db = await freshDatabase(options.url);
  const utils = await makeWorkerUtils({ connectionString: db.url, logger: silent });
  const counter = new pg.Client({ connectionString: db.url });
  let runner: Runner | undefined;
  const waiting = new Map<number, () => void>();
  const wfOf = (payload: unknown): number => {
    const wf = (payload as { wf?: unknown } | null)?.wf;
    if (typeof wf !== 'number') throw new Error('workflow job without a numeric wf');
    return wf;
  };
  try {
    await utils.migrate();
    await counter.connect();
    const started = await start(db.url, config, {
      step1: async (payload, helpers) => void (await helpers.addJob('step2', { wf: wfOf(payload) })),
      step2: async (payload, helpers) => void (await helpers.addJob('step3', { wf: wfOf(payload) })),
      step3: () => undefined,
    });
    runner = started.runner;
    started.events.on('job:complete', ({ job, error }) => {
      if (job.task_identifier !== 'step3' || error != null) return;
      const wf = wfOf(job.payload);
      waiting.get(wf)?.();
      waiting.delete(wf);
    });
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let wf = next++; wf < workflows; wf = next++) {
          const w0 = performance.now();
          const done = new Promise<void>((resolve) => waiting.set(wf, resolve));
          await utils.addJob('step1', { wf });
          await done;
          latencies.push(performance.now() - w0);
        }
      }),
    );
    await countUntil(counter, REMAINING_SQL, 0, performance.now() + 10_000);
    const elapsed = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    return {
      workflowsPerS: workflows / (elapsed / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      config: GRAPHILE_CONFIGS[config],
    };
  } finally {
    await runner?.stop().catch(() => undefined);
    await utils.release();
    await counter.end().catch(() => undefined);
    await db.drop();
  }
}
