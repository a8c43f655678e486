// bench/peers-check.ts — proves the peer runners of bench/orchestration.ts work: pg-boss and
// graphile-worker on workload (a) (no-op jobs, bulk enqueue, drain) and graphile-worker and DBOS on
// workload (b) (3-step workflows, closed loop), each in its default and best documented
// configuration (bench/peers/*.ts say which), each on a fresh database dropped afterwards.
// Small by default; real size: BENCH_PEERS_JOBS=10000 BENCH_PEERS_WORKFLOWS=1000.
// pg-boss's default configuration takes one job every 2 s, so its run stops after
// BENCH_PEERS_MAX_MS (default 10 s) and reports the rate of the jobs completed by then.
import { round, table } from './_util.ts';
import type { PeerConfig } from './peers/_db.ts';
import { runDbosWorkflows } from './peers/dbos.ts';
import { runGraphileJobs, runGraphileWorkflows } from './peers/graphile-worker.ts';
import { runPgBossJobs } from './peers/pg-boss.ts';

const JOBS = Number(process.env['BENCH_PEERS_JOBS'] ?? 2_000);
const WORKFLOWS = Number(process.env['BENCH_PEERS_WORKFLOWS'] ?? 200);
const CONCURRENCY = Number(process.env['BENCH_PEERS_CONCURRENCY'] ?? 50);
const MAX_MS = Number(process.env['BENCH_PEERS_MAX_MS'] ?? 10_000);
const CONFIGS: readonly PeerConfig[] = ['default', 'best'];

const rows: (string | number)[][] = [];
const json: Record<string, unknown>[] = [];

for (const config of CONFIGS) {
  for (const [peer, runJobs] of [
    ['pg-boss', runPgBossJobs],
    ['graphile-worker', runGraphileJobs],
  ] as const) {
    const r = await runJobs({ jobs: JOBS, config, maxProcessMs: MAX_MS });
    rows.push([
      peer,
      'a: jobs',
      config,
      r.jobsPerS,
      `${r.completed}/${JOBS}`,
      r.enqueueMs,
      r.processMs,
      '-',
      '-',
    ]);
    json.push({
      peer,
      workload: 'jobs',
      config,
      settings: r.config,
      jobs_per_s: round(r.jobsPerS, r.jobsPerS < 100 ? 2 : 0),
      completed: r.completed,
      jobs: JOBS,
      enqueue_ms: round(r.enqueueMs, 1),
      process_ms: round(r.processMs, 1),
    });
  }
}
const workflowRuns = [
  [
    'graphile-worker',
    'default',
    () => runGraphileWorkflows({ workflows: WORKFLOWS, concurrency: CONCURRENCY, config: 'default' }),
  ],
  [
    'graphile-worker',
    'best',
    () => runGraphileWorkflows({ workflows: WORKFLOWS, concurrency: CONCURRENCY, config: 'best' }),
  ],
  ['dbos', 'default', () => runDbosWorkflows({ workflows: WORKFLOWS, concurrency: CONCURRENCY })],
] as const;
for (const [peer, config, runWorkflows] of workflowRuns) {
  const r = await runWorkflows();
  rows.push([
    peer,
    `b: 3-step wf x${CONCURRENCY}`,
    config,
    r.workflowsPerS,
    `${WORKFLOWS}/${WORKFLOWS}`,
    '-',
    '-',
    r.p50Ms,
    r.p99Ms,
  ]);
  json.push({
    peer,
    workload: 'workflows',
    config,
    settings: r.config,
    workflows_per_s: Math.round(r.workflowsPerS),
    workflows: WORKFLOWS,
    concurrency: CONCURRENCY,
    p50_ms: round(r.p50Ms, 1),
    p99_ms: round(r.p99Ms, 1),
  });
}

process.stdout.write(
  `\npeer runners (fresh database each; completion counted in the database)\n\n` +
    table([
      ['peer', 'workload', 'config', 'per s', 'completed', 'enqueue ms', 'process ms', 'p50 ms', 'p99 ms'],
      ...rows,
    ]) +
    '\n\n',
);
process.stdout.write(JSON.stringify({ bench: 'peers-check', node: process.version, runs: json }) + '\n');
