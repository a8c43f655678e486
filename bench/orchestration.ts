// bench/orchestration.ts — Strata's durable runs against pg-boss, graphile-worker and DBOS Transact,
// side by side in one run on the same local PostgreSQL (each in a fresh database):
//   (a) 10,000 no-op jobs enqueued, then processed: jobs/s (peers in default and best config);
//   (b) 1,000 three-step durable workflows at concurrency 50: workflows/s, p50/p99 end to end;
//   (c) the same on SQLite for Strata alone, and the journaled step cost on SQLite.
// Strata keeps durable semantics throughout: every completion is committed before it is reported
// (group-committed), every step is journaled before the workflow moves on.
// Sizes: BENCH_JOBS (default 10000), BENCH_WORKFLOWS (default 1000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { round, table } from './_util.ts';
import type { JobsResult, WorkflowsResult } from './peers/_db.ts';
import { runDbosWorkflows } from './peers/dbos.ts';
import { runGraphileJobs, runGraphileWorkflows } from './peers/graphile-worker.ts';
import { runPgBossJobs } from './peers/pg-boss.ts';
import { strataJobs, strataStepOverhead, strataWorkflows } from './strata/runs.ts';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 10_000);
const WORKFLOWS = Number(process.env['BENCH_WORKFLOWS'] ?? 1_000);
const CONCURRENCY = 50;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function onPostgres<T>(
  fn: (store: Awaited<ReturnType<typeof createPostgresStore>>) => Promise<T>,
): Promise<T> {
  const db = await createTestDatabase();
  const store = await createPostgresStore({ connectionString: db.url, poolSize: 10 });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

async function onSqlite<T>(
  fn: (store: Awaited<ReturnType<typeof createSqliteStore>>) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const store = await createSqliteStore({ path: join(dir, 'bench.db') });
  try {
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

log(`(a) ${JOBS} no-op jobs`);
// One worker claiming up to 500 runs at a time: the analogue of graphile-worker's localQueue of 500.
const strataPg = await onPostgres((s) => strataJobs(s, JOBS, 1, 500));
const jobs: Record<string, JobsResult> = {
  // pg-boss's defaults poll one job every 2 s: capped at 10 s and reported as the rate reached.
  'pg-boss default': await runPgBossJobs({ jobs: JOBS, config: 'default', maxProcessMs: 10_000 }),
  'pg-boss best': await runPgBossJobs({ jobs: JOBS, config: 'best' }),
  'graphile-worker default': await runGraphileJobs({ jobs: JOBS, config: 'default' }),
  'graphile-worker best': await runGraphileJobs({ jobs: JOBS, config: 'best' }),
};
const strataSqlite = await onSqlite((s) => strataJobs(s, JOBS, 1, 500));

log(`(b) ${WORKFLOWS} three-step workflows at concurrency ${CONCURRENCY}`);
const wfStrataPg = await onPostgres((s) => strataWorkflows(s, WORKFLOWS, CONCURRENCY));
const workflows: Record<string, WorkflowsResult> = {
  'DBOS Transact': await runDbosWorkflows({ workflows: WORKFLOWS, concurrency: CONCURRENCY }),
  'graphile-worker (3 chained jobs)': await runGraphileWorkflows({
    workflows: WORKFLOWS,
    concurrency: CONCURRENCY,
    config: 'best',
  }),
};
const wfStrataSqlite = await onSqlite((s) => strataWorkflows(s, WORKFLOWS, CONCURRENCY));
const step = await onSqlite((s) => strataStepOverhead(s));

const bestGraphile = jobs['graphile-worker best']?.jobsPerS ?? NaN;
const bestPgBoss = jobs['pg-boss best']?.jobsPerS ?? NaN;
const dbos = workflows['DBOS Transact'] as WorkflowsResult;
process.stdout.write(
  `\n(a) ${JOBS.toLocaleString('en-US')} no-op jobs, enqueued then processed (PostgreSQL 15, same server)\n\n` +
    table([
      ['system', 'jobs/s', 'enqueue ms', 'Strata ÷ this'],
      ['Strata (PostgreSQL)', strataPg.jobsPerS, strataPg.enqueueMs, '-'],
      ...Object.entries(jobs).map(([name, r]) => [
        name,
        r.jobsPerS,
        r.enqueueMs,
        round(strataPg.jobsPerS / r.jobsPerS, 2),
      ]),
      ['Strata (SQLite)', strataSqlite.jobsPerS, strataSqlite.enqueueMs, '-'],
    ]) +
    `\n\n(b) ${WORKFLOWS.toLocaleString('en-US')} three-step durable workflows, ${CONCURRENCY} in flight\n\n` +
    table([
      ['system', 'workflows/s', 'p50 ms', 'p99 ms'],
      ['Strata (PostgreSQL)', wfStrataPg.workflowsPerS, wfStrataPg.p50Ms, wfStrataPg.p99Ms],
      ...Object.entries(workflows).map(([name, r]) => [name, r.workflowsPerS, r.p50Ms, r.p99Ms]),
      ['Strata (SQLite)', wfStrataSqlite.workflowsPerS, wfStrataSqlite.p50Ms, wfStrataSqlite.p99Ms],
    ]) +
    `\n\n(c) journaled step on SQLite: p50 ${round(step.stepP50Us)} µs per step (target < 1 ms)\n` +
    `targets: ≥ 1.5× graphile-worker best → ${round(strataPg.jobsPerS / bestGraphile, 2)}×; ≥ 5× pg-boss best → ${round(strataPg.jobsPerS / bestPgBoss, 2)}×\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'orchestration',
    jobs: JOBS,
    strata_jobs_per_s: Math.round(strataPg.jobsPerS),
    strata_sqlite_jobs_per_s: Math.round(strataSqlite.jobsPerS),
    graphile_best_jobs_per_s: Math.round(bestGraphile),
    graphile_default_jobs_per_s: Math.round(jobs['graphile-worker default']?.jobsPerS ?? NaN),
    pgboss_best_jobs_per_s: Math.round(bestPgBoss),
    pgboss_default_jobs_per_s: round(jobs['pg-boss default']?.jobsPerS ?? NaN, 2),
    ratio_vs_graphile: round(strataPg.jobsPerS / bestGraphile, 2),
    ratio_vs_pgboss: round(strataPg.jobsPerS / bestPgBoss, 2),
    workflows: WORKFLOWS,
    strata_workflows_per_s: round(wfStrataPg.workflowsPerS, 1),
    strata_workflow_p50_ms: round(wfStrataPg.p50Ms, 1),
    strata_workflow_p99_ms: round(wfStrataPg.p99Ms, 1),
    dbos_workflows_per_s: round(dbos.workflowsPerS, 1),
    dbos_workflow_p50_ms: round(dbos.p50Ms, 1),
    dbos_workflow_p99_ms: round(dbos.p99Ms, 1),
    ratio_vs_dbos: round(wfStrataPg.workflowsPerS / dbos.workflowsPerS, 2),
    strata_sqlite_workflows_per_s: round(wfStrataSqlite.workflowsPerS, 1),
    strata_sqlite_step_p50_us: round(step.stepP50Us, 1),
  }) + '\n',
);
