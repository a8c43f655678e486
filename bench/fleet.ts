// bench/fleet.ts — fleet figures for issue 12, side by side in one run on the local PostgreSQL
// (each part in a fresh database):
//   (a) run start latency: sequential `engine.start` calls, p50/p99 (targets ≤ 20 ms, ≤ 100 ms);
//   (b) three-step durable workflows at concurrency 50: Strata vs DBOS Transact (defaults, and its
//       system database pool raised to the concurrency); `ratio_vs_dbos` against DBOS's best;
//   (c) kill-to-resume: 3 worker processes, two SIGKILLed mid-way (lease 1.5 s); time until each
//       run they held is leased elsewhere, and duplicate effects (must be 0);
//   (d) supervisor restart latency: a child fails → its replacement running;
//   (e) N agents holding leases renewed every 10 s: renewals/s, database CPU, unexpected expiries.
//   (f) agent-loop overhead per turn: the durable loop vs the same loop in process, no durability
//       (scripted model provider in process, one tool call per turn).
// Sizes: --starts, --workflows, --kill-runs, --restarts, --agents, --hold-s, --agent-runs, --turns.
import { parseArgs } from 'node:util';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import type { Store } from '../src/kernel/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { round, table } from './_util.ts';
import type { WorkflowsResult } from './peers/_db.ts';
import { runDbosWorkflows } from './peers/dbos.ts';
import { leaseHold, runStarts, supervisorRestarts } from './strata/fleet.ts';
import { agentLoopOverhead } from './strata/agent-overhead.ts';
import { killToResume } from './strata/kill-resume.ts';
import { strataWorkflows } from './strata/runs.ts';

const { values: args } = parseArgs({
  options: {
    starts: { type: 'string', default: '1000' },
    workflows: { type: 'string', default: '1000' },
    'kill-runs': { type: 'string', default: '600' },
    restarts: { type: 'string', default: '40' },
    agents: { type: 'string', default: '10000' },
    'hold-s': { type: 'string', default: '30' },
    'agent-runs': { type: 'string', default: '10' },
    turns: { type: 'string', default: '20' },
  },
});
const STARTS = Number(args.starts);
const WORKFLOWS = Number(args.workflows);
const KILL_RUNS = Number(args['kill-runs']);
const RESTARTS = Number(args.restarts);
const AGENTS = Number(args.agents);
const HOLD_MS = Number(args['hold-s']) * 1000;
const AGENT_RUNS = Number(args['agent-runs']);
const TURNS = Number(args.turns);
const CONCURRENCY = 50;
const LEASE_MS = 1_500;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function onPostgres<T>(fn: (store: Store) => Promise<T>, poolSize = 10): Promise<T> {
  const db = await createTestDatabase();
  const store = await createPostgresStore({ connectionString: db.url, poolSize });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

log(`(a) ${STARTS} run starts`);
const starts = await onPostgres((s) => runStarts(s, STARTS));
log(`(b) ${WORKFLOWS} three-step workflows at concurrency ${CONCURRENCY}`);
const strataWf = await onPostgres((s) => strataWorkflows(s, WORKFLOWS, CONCURRENCY));
const dbos: Record<string, WorkflowsResult> = {
  'DBOS Transact, defaults (pool 10)': await runDbosWorkflows({
    workflows: WORKFLOWS,
    concurrency: CONCURRENCY,
  }),
  [`DBOS Transact, pool ${CONCURRENCY}`]: await runDbosWorkflows({
    workflows: WORKFLOWS,
    concurrency: CONCURRENCY,
    systemDatabasePoolSize: CONCURRENCY,
  }),
};
const dbosBest = Object.values(dbos).reduce((a, b) => (b.workflowsPerS > a.workflowsPerS ? b : a));
log(`(c) kill-to-resume: ${KILL_RUNS} runs on 3 worker processes, lease ${LEASE_MS} ms`);
const kill = await killToResume(KILL_RUNS, LEASE_MS);
log(`(d) ${RESTARTS} supervisor restarts`);
const restarts = await onPostgres((s) => supervisorRestarts(s, RESTARTS));
log(`(e) ${AGENTS} agents holding leases for ${HOLD_MS / 1000} s (lease 30 s, renewed every 10 s)`);
const leases = await onPostgres(
  (s) => leaseHold(s, { agents: AGENTS, holdMs: HOLD_MS, leaseMs: 30_000, heartbeatMs: 10_000 }),
  20,
);
log(`(f) agent loop: ${AGENT_RUNS} runs of ${TURNS} turns, durable and plain`);
const agent = await agentLoopOverhead(AGENT_RUNS, TURNS);

const ms = (n: number): string => `${round(n, n < 1 ? 3 : 1)} ms`;
const ratio = strataWf.workflowsPerS / dbosBest.workflowsPerS;
process.stdout.write(
  `\nFleet benchmark, PostgreSQL at 127.0.0.1 (each part in a fresh database)\n\n` +
    `(a) run start, ${STARTS} sequential engine.start calls\n\n` +
    table([
      ['p50', 'p95', 'p99', 'targets'],
      [ms(starts.p50Ms), ms(starts.p95Ms), ms(starts.p99Ms), 'p50 ≤ 20 ms, p99 ≤ 100 ms'],
    ]) +
    `\n\n(b) ${WORKFLOWS} three-step durable workflows, ${CONCURRENCY} in flight\n\n` +
    table([
      ['system', 'workflows/s', 'p50', 'p99', 'Strata ÷ this'],
      ['Strata', strataWf.workflowsPerS, ms(strataWf.p50Ms), ms(strataWf.p99Ms), '-'],
      ...Object.entries(dbos).map(([name, r]) => [
        name,
        r.workflowsPerS,
        ms(r.p50Ms),
        ms(r.p99Ms),
        round(strataWf.workflowsPerS / r.workflowsPerS, 2),
      ]),
    ]) +
    `\n\n(c) kill-to-resume, ${kill.runs} runs on 3 worker processes, 2 SIGKILLed, lease ${kill.leaseMs} ms\n\n` +
    table([
      ['runs held by killed workers', 'p50', 'p95', 'max', 'duplicate effects', 'missing effects'],
      [
        String(kill.samples),
        ms(kill.p50Ms),
        ms(kill.p95Ms),
        ms(kill.p99Ms),
        String(kill.duplicateEffects),
        String(kill.missingEffects),
      ],
    ]) +
    `\n\n(d) supervisor restart (one_for_one, no backoff): child failed → replacement running\n\n` +
    table([
      ['restarts', 'p50', 'p95', 'p99'],
      [String(restarts.samples), ms(restarts.p50Ms), ms(restarts.p95Ms), ms(restarts.p99Ms)],
    ]) +
    `\n\n(e) ${leases.agents} agents holding leases (30 s lease, 10 s heartbeat) for ${leases.holdMs / 1000} s\n\n` +
    table([
      ['agents', 'claimed in', 'renewals/s', 'expected', 'database CPU (cores)', 'unexpected expiries'],
      [
        String(leases.agents),
        ms(leases.claimMs),
        leases.renewalsPerS,
        leases.expectedRenewalsPerS,
        round(leases.dbCpuCores, 2),
        String(leases.unexpectedLeaseExpiries),
      ],
    ]) +
    `\n\n(f) agent loop, ${agent.runs} runs of ${agent.turns} turns (a model call and a tool call each), p50 per turn\n\n` +
    table([
      ['durable (PostgreSQL)', 'plain loop, no durability', 'overhead per turn'],
      [ms(agent.durableMsPerTurn), ms(agent.plainMsPerTurn), ms(agent.overheadMsPerTurn)],
    ]) +
    `\n\nStrata ÷ DBOS best: ${round(ratio, 2)}× (target ≥ 3×).\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'fleet',
    run_start_p50_ms: round(starts.p50Ms, 2),
    run_start_p99_ms: round(starts.p99Ms, 2),
    workflows: WORKFLOWS,
    strata_workflows_per_s: round(strataWf.workflowsPerS, 1),
    dbos_default_workflows_per_s: round(Object.values(dbos)[0]?.workflowsPerS ?? NaN, 1),
    dbos_best_workflows_per_s: round(dbosBest.workflowsPerS, 1),
    dbos_best_config: dbosBest.config,
    ratio_vs_dbos: round(ratio, 2),
    kill_to_resume_p50_ms: kill.p50Ms,
    kill_to_resume_p95_ms: kill.p95Ms,
    kill_to_resume_samples: kill.samples,
    lease_ms: LEASE_MS,
    duplicate_effects: kill.duplicateEffects,
    missing_effects: kill.missingEffects,
    restart_p50_ms: round(restarts.p50Ms, 1),
    restart_p95_ms: round(restarts.p95Ms, 1),
    lease_agents: leases.agents,
    lease_hold_s: leases.holdMs / 1000,
    renewals_per_s: round(leases.renewalsPerS, 1),
    expected_renewals_per_s: leases.expectedRenewalsPerS,
    db_cpu_cores: round(leases.dbCpuCores, 2),
    unexpected_lease_expiries: leases.unexpectedLeaseExpiries,
    agent_turn_durable_ms: round(agent.durableMsPerTurn, 2),
    agent_turn_plain_ms: round(agent.plainMsPerTurn, 3),
    agent_loop_overhead_ms: round(agent.overheadMsPerTurn, 2),
  }) + '\n',
);
