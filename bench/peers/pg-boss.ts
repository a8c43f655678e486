// pg-boss 12, workload (a): `jobs` no-op jobs, bulk-enqueued with `insert()`, then drained.
//
// 'default' = `work(queue, handler)` with no options. pg-boss documents this as "1 job every 2
//   seconds" (batchSize 1, pollingIntervalSeconds 2; a worker sleeps out the interval even after a
//   fetch that found a job), so a default run is bounded by `maxProcessMs` and reports the rate of
//   the jobs it completed in that window.
// 'best' = the work() options pg-boss documents for throughput (docs/api/workers.md and the
//   JobPollingOptions/WorkConcurrencyOptions typings of 12.38):
//   `batchSize: 1000` (one fetch and one batched completion per 1,000 jobs),
//   `localConcurrency: 4` (4 workers for the queue; same as 4 `work()` calls),
//   `burstWhenBatchFull: true` (re-fetch at once while fetches come back full instead of sleeping),
//   `pollingIntervalSeconds: 0.5` (the documented minimum, for the last short batch).
//   burstWhenBatchFull is what lifts pg-boss past its polling bound: without it the same options
//   measured ~9,300 jobs/s here (10,000 jobs), with it ~35,000 (4 `work()` calls instead of
//   localConcurrency 4: the same within noise; partition: true or batchSize 500: no better).
// Completion is counted in the database (state 'completed' in pgboss.job), not in the handler:
// pg-boss completes a batch after the handler resolves.
import pg from 'pg';
import { PgBoss, type WorkOptions } from 'pg-boss';
import { countUntil, freshDatabase, until, type JobsResult, type PeerConfig } from './_db.ts';

const QUEUE = 'bench-noop';
const COMPLETED_SQL = `SELECT count(*)::int AS n FROM pgboss.job WHERE name = '${QUEUE}' AND state = 'completed'`;

const WORK_OPTIONS: Record<PeerConfig, WorkOptions> = {
  default: {},
  best: { batchSize: 1000, localConcurrency: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
};

export const PG_BOSS_CONFIGS: Record<PeerConfig, string> = {
  default: 'work() defaults: batchSize 1, 1 worker, pollingIntervalSeconds 2',
  best: 'work({ batchSize: 1000, localConcurrency: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 })',
};

export async function runPgBossJobs(options: {
  /** PostgreSQL server; a fresh database is created on it and dropped afterwards. */
  url?: string;
  jobs: number;
  config: PeerConfig;
  /** Stop waiting after this long and report the rate of what completed (default 30 s). */
  maxProcessMs?: number;
}): Promise<JobsResult> {
  const { jobs, config, maxProcessMs = 30_000 } = options;
  const db = await freshDatabase(options.url);
  const boss = new PgBoss({ connectionString: db.url });
  const errors: unknown[] = [];
  boss.on('error', (error) => errors.push(error));
  const counter = new pg.Client({ connectionString: db.url });
  try {
    await boss.start();
    await boss.createQueue(QUEUE);
    await counter.connect();
    const payload = Array.from({ length: jobs }, (_, i) => ({ data: { i } }));
    const e0 = performance.now();
    await boss.insert(QUEUE, payload);
    const enqueueMs = performance.now() - e0;

    let handled = 0;
    const p0 = performance.now();
    const deadline = p0 + maxProcessMs;
    await boss.work<{ i: number }>(QUEUE, WORK_OPTIONS[config], (batch) => {
      handled += batch.length;
      return Promise.resolve();
    });
    await until(() => handled >= jobs, deadline);
    // Every handler has returned (or time ran out): wait for the batched completions to commit.
    const completed = await countUntil(
      counter,
      COMPLETED_SQL,
      jobs,
      handled >= jobs ? performance.now() + 10_000 : 0,
    );
    const processMs = performance.now() - p0;
    if (errors.length > 0) throw new Error('pg-boss reported errors', { cause: errors[0] });
    return {
      jobsPerS: completed / (processMs / 1000),
      enqueueMs,
      processMs,
      completed,
      config: PG_BOSS_CONFIGS[config],
    };
  } finally {
    await boss.offWork(QUEUE, { wait: false }).catch(() => undefined);
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    await counter.end().catch(() => undefined);
    await db.drop();
  }
}
