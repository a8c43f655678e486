// Strata's side of bench/fleet.ts, in process on one PostgreSQL store: run start latency,
// supervisor restart latency, and many agents holding leases renewed by heartbeats.
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Principal, Store } from '../../src/kernel/index.ts';
import { defineWorkflow, Engine, Worker } from '../../src/orchestration/index.ts';
import { defineSupervisor } from '../../src/orchestration/supervision/index.ts';
import { crashAgent } from '../../test/fixtures/supervision-spec.ts';
import { percentile } from '../_util.ts';

const principal: Principal = { tenantId: 'ten_fleet', id: 'key_fleet', kind: 'api_key', grants: [] };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Latencies {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly samples: number;
}

export function latencies(values: number[]): Latencies {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    samples: sorted.length,
  };
}

const noop = defineWorkflow({ name: 'fleet.noop', version: 1, input: z.number(), output: z.null() }, () =>
  Promise.resolve(null),
);

/**
 * `engine.start` latency: `starts` sequential starts (insert of the run row, committed, plus the
 * wake-up notification), with an idle worker listening, as on a server.
 */
export async function runStarts(store: Store, starts: number): Promise<Latencies> {
  const engine = await Engine.open({ store });
  engine.register(noop);
  const worker = new Worker(engine, { concurrency: 50, pollMs: 1_000 });
  await worker.start();
  const times: number[] = [];
  try {
    for (let i = 0; i < starts; i++) {
      const t0 = performance.now();
      await engine.start('fleet.noop', i, { principal });
      times.push(performance.now() - t0);
    }
  } finally {
    await worker.stop();
  }
  return latencies(times);
}

/** One permanent child, restarted at once after each failure (no backoff; intensity and breaker out of the way). */
const team = defineSupervisor({
  name: 'fleet.team',
  version: 1,
  strategy: 'one_for_one',
  intensity: 10_000,
  periodMs: 60_000,
  backoff: { baseMs: 0, maxMs: 0 },
  breaker: { deaths: 10_000 },
  children: [{ id: 'agent', workflow: crashAgent, input: { tag: 'agent' } }],
});

type ChildRow = { id: string; status: string; finished_at: number | null };

/**
 * Supervisor restart latency: the child (the supervision crash
 * test's agent, waiting for a `finish` signal) is failed `restarts` times; each
 * sample is from the failed run's `finished_at` (committed by the worker) to the moment its
 * replacement is seen running or waiting in the database (polled every 2 ms).
 */
export async function supervisorRestarts(store: Store, restarts: number): Promise<Latencies> {
  const engine = await Engine.open({ store });
  engine.register(crashAgent);
  // The supervision crash test's agent records each start in this table.
  await store.run('CREATE TABLE sup_crash_starts (run_id TEXT NOT NULL, tag TEXT NOT NULL)');
  engine.register(team);
  const worker = new Worker(engine, { concurrency: 20, pollMs: 50, leaseMs: 5_000 });
  await worker.start();
  const children = (supervisorId: string): Promise<ChildRow[]> =>
    store.all<ChildRow>(
      'SELECT id, status, finished_at FROM orch_runs WHERE parent_id = ? ORDER BY created_at',
      [supervisorId],
    );
  const live = (rows: ChildRow[]): ChildRow | undefined =>
    rows.find((r) => r.status === 'running' || r.status === 'waiting');
  const times: number[] = [];
  try {
    const sup = await engine.start('fleet.team', {}, { principal });
    let current = await pollFor(async () => live(await children(sup.id)));
    for (let i = 0; i < restarts; i++) {
      await engine.signal(principal.tenantId, current.id, 'finish', { mode: 'fail' });
      const previous = current.id;
      current = await pollFor(async () => {
        const rows = await children(sup.id);
        const next = rows.find(
          (r) => r.id !== previous && (r.status === 'running' || r.status === 'waiting'),
        );
        if (!next) return undefined;
        const failedAt = Number(rows.find((r) => r.id === previous)?.finished_at);
        times.push(Date.now() - failedAt);
        return next;
      });
    }
  } finally {
    await worker.stop();
  }
  return latencies(times);
}

async function pollFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('bench: timed out waiting');
    await sleep(2);
  }
}

/** Executions of the holding step per run: more than one means a lease was lost and the run re-claimed. */
const executions = new Map<string, number>();

const holder = defineWorkflow(
  { name: 'fleet.holder', version: 1, input: z.object({ holdMs: z.number() }), output: z.null() },
  async (ctx, input) => {
    await ctx.step('hold', async () => {
      executions.set(ctx.runId, (executions.get(ctx.runId) ?? 0) + 1);
      await sleep(input.holdMs);
    });
    return null;
  },
);

export interface LeaseFigures {
  readonly agents: number;
  /** agents ÷ heartbeat period: what the window should see, give or take one heartbeat per worker. */
  readonly expectedRenewalsPerS: number;
  readonly holdMs: number;
  readonly renewalsPerS: number;
  /** Rows renewed over the hold window (orch_runs updates seen by pg_stat). */
  readonly renewals: number;
  /** PostgreSQL server CPU over the hold window, in cores (1.0 = one core busy). */
  readonly dbCpuCores: number;
  readonly unexpectedLeaseExpiries: number;
  readonly claimMs: number;
}

/**
 * `agents` runs each hold a lease for `holdMs` inside one step, spread over workers of 1,000 runs,
 * each renewing its leases every `heartbeatMs` (lease `leaseMs`). An unexpected expiry is a run
 * seen `running` with its lease in the past (sampled every 250 ms) or a step executed twice.
 */
export async function leaseHold(
  store: Store,
  options: { agents: number; holdMs: number; leaseMs: number; heartbeatMs: number },
): Promise<LeaseFigures> {
  const { agents, holdMs, leaseMs, heartbeatMs } = options;
  const engine = await Engine.open({ store });
  engine.register(holder);
  executions.clear();
  const perWorker = 1_000;
  const workers = Array.from(
    { length: Math.ceil(agents / perWorker) },
    () => new Worker(engine, { concurrency: perWorker, pollMs: 200, leaseMs, heartbeatMs }),
  );
  const t0 = performance.now();
  await engine.startMany(
    'fleet.holder',
    Array.from({ length: agents }, () => ({ holdMs })),
    { principal },
  );
  await Promise.all(workers.map((w) => w.start()));
  await pollFor(() => Promise.resolve(executions.size >= agents ? true : undefined), 120_000);
  const claimMs = performance.now() - t0;
  const expired = new Set<string>();
  const updates = async (): Promise<number> =>
    Number(
      (
        await store.get<{ n: number }>(
          "SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'orch_runs'",
        )
      )?.n,
    );
  await sleep(1_100); // pg_stat counters are flushed by backends about once a second
  const u0 = await updates();
  const cpu0 = postgresCpuSeconds();
  const w0 = performance.now();
  // Only renewals update the table until the first run finishes its hold (≥ t0 + holdMs); the
  // last counter read (after the flush wait) stays before that.
  const windowEnd = t0 + holdMs - 2_500;
  while (performance.now() < windowEnd) {
    const rows = await store.all<{ id: string }>(
      "SELECT id FROM orch_runs WHERE status = 'running' AND lease_expires_at < ?",
      [Date.now()],
    );
    for (const r of rows) expired.add(r.id);
    await sleep(250);
  }
  await sleep(1_100);
  const windowS = (performance.now() - w0) / 1000;
  const renewals = (await updates()) - u0;
  const dbCpuCores = (postgresCpuSeconds() - cpu0) / windowS;
  await pollFor(async () => {
    const row = await store.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM orch_runs WHERE workflow = 'fleet.holder' AND status <> 'completed'",
    );
    return Number(row?.n) === 0 ? true : undefined;
  }, 120_000);
  await Promise.all(workers.map((w) => w.stop()));
  const reExecuted = [...executions.values()].filter((n) => n > 1).length;
  return {
    agents,
    expectedRenewalsPerS: agents / (heartbeatMs / 1000),
    holdMs,
    renewals,
    renewalsPerS: renewals / windowS,
    dbCpuCores,
    unexpectedLeaseExpiries: expired.size + reExecuted,
    claimMs,
  };
}

/** CPU seconds (user + system) of every `postgres` process on this machine (the server is local). */
function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(0, close).includes('(postgres')) continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}
