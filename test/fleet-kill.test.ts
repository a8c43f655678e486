// Fleet must-show with real processes on PostgreSQL: 100 agents across 3 worker processes (34, 33
// and 33: worker A serves queue q0, B q1 and C q2, and B and C also q0 to take A's agents), each
// holding its own task and making STEPS journaled effects; one worker is SIGKILLed mid-work. Every
// agent it held resumes on another worker (lease takeover); the figures printed are kill to the
// replacement's next effect (p50/p95) and the detection latency the fleet report records. The test
// bounds the slowest resume by lease TTL + 5 s (liveness: a takeover that never happens fails it);
// the latency target itself (p95 within lease + 1 s) is measured by `npm run bench -- fleet`
// (kill-to-resume), not asserted here: beside another heavy test file on 2 cores it drifted to
// lease + 2.6 s in CI. No effect happens twice, every task is completed by its agent, and a late
// completion from the killed execution (as a partitioned worker would send it) is refused. The
// killed worker's agents are each taken over once; the fleet report counts every takeover.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kernel, type Principal, type Store } from '../src/kernel/index.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { Engine } from '../src/orchestration/index.ts';
import { withExecution } from '../src/orchestration/execution-scope.ts';
import { fleetReport, percentile } from '../src/orchestration/fleet-report.ts';
import { taskSyscalls, type Task } from '../src/orchestration/tasks/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { withCode } from '../src/testkit/stores.ts';
import { killAgent, STEPS } from './fixtures/fleet-kill-spec.ts';

const LEASE_MS = 2_000;
const AGENTS = 100;
const masterKey = randomBytes(32);
const goFile = join(mkdtempSync(join(tmpdir(), 'fleet-kill-')), 'go');

let db: { url: string; drop: () => Promise<void> };
let store: Store;
let engine: Engine;
let kernel: Kernel;
let principal: Principal;
const workers: ChildProcess[] = [];

function startWorker(id: string, queues: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['test/fixtures/fleet-kill-worker.ts', db.url, id, String(LEASE_MS), masterKey.toString('hex'), queues],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FLEET_KILL_GO: goFile } },
  );
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${id} exited early with ${code ?? signal}`)),
    );
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  db = await createTestDatabase();
  store = await createPostgresStore({ connectionString: db.url });
  engine = await Engine.open({ store });
  kernel = await Kernel.open({ store, masterKey, meter: engine.meterHook });
  engine.attachKernel(kernel);
  for (const def of taskSyscalls(engine)) kernel.register(def);
  engine.register(killAgent);
  const tenant = await kernel.principals.createTenant('fleetkill');
  const { key } = await kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'test',
    grants: [{ syscall: '*', resource: '*' }],
  });
  principal = await kernel.authenticate({ apiKey: key });
  await store.run(
    'CREATE TABLE fleet_kill_effects (run_id TEXT NOT NULL, step INTEGER NOT NULL, worker TEXT NOT NULL, at BIGINT NOT NULL)',
  );
});

after(async () => {
  for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
  await kernel?.close();
  await db?.drop();
});

test(
  'kill -9 one of 3 workers under 100 agents: every agent resumes elsewhere, once',
  { timeout: 120_000 },
  async () => {
    const tasks: Task[] = [];
    for (let i = 0; i < AGENTS; i++)
      tasks.push(await kernel.call<Task>('fleet.task.create', { title: `task ${i}` }, { principal }));
    const inputs = tasks.map((t) => ({ taskId: t.id }));
    const victim = await startWorker('wrk_kill_a', 'q0');
    const runIds = await engine.startMany(killAgent.name, inputs.slice(0, 34), { principal, queue: 'q0' });
    await until('worker A holding its 34 agents', async () => {
      const row = await store.get<{ n: number | string }>(
        "SELECT COUNT(*) AS n FROM orch_runs WHERE lease_owner = ? AND status = 'running'",
        ['wrk_kill_a'],
      );
      return Number(row?.n) === 34 ? true : undefined;
    });
    await Promise.all([startWorker('wrk_kill_b', 'q1,q0'), startWorker('wrk_kill_c', 'q2,q0')]);
    runIds.push(
      ...(await engine.startMany(killAgent.name, inputs.slice(34, 67), { principal, queue: 'q1' })),
    );
    runIds.push(...(await engine.startMany(killAgent.name, inputs.slice(67), { principal, queue: 'q2' })));
    const taskOf = new Map(runIds.map((id, i) => [id, tasks[i]?.id ?? '']));
    await until('all 100 agents started', async () => {
      const row = await store.get<{ n: number | string }>(
        'SELECT COUNT(DISTINCT run_id) AS n FROM fleet_kill_effects',
      );
      return Number(row?.n) === AGENTS ? true : undefined;
    });
    writeFileSync(goFile, 'go');

    // Kill the first worker once every agent is under way and it holds some of them.
    await until('every agent making progress', async () => {
      const row = await store.get<{ n: number | string }>(
        'SELECT COUNT(DISTINCT run_id) AS n FROM fleet_kill_effects WHERE step >= 2',
      );
      return Number(row?.n) === AGENTS ? true : undefined;
    });
    await new Promise<void>((resolve) => {
      victim?.once('exit', () => resolve());
      victim?.kill('SIGKILL');
    });
    const killedAt = Date.now();
    const orphaned = (
      await store.all<{ id: string }>(
        "SELECT id FROM orch_runs WHERE lease_owner = ? AND status = 'running'",
        ['wrk_kill_a'],
      )
    ).map((r) => r.id);
    assert.ok(orphaned.length >= 30, `the killed worker held its agents (${orphaned.length})`);
    const spread = await store.all<{ worker: string; n: number | string }>(
      'SELECT worker, COUNT(DISTINCT run_id) AS n FROM fleet_kill_effects GROUP BY worker ORDER BY worker',
    );
    assert.deepEqual(
      spread.map((r) => [r.worker, Number(r.n)]),
      [
        ['wrk_kill_a', 34],
        ['wrk_kill_b', 33],
        ['wrk_kill_c', 33],
      ],
    );

    await until('every agent completed', async () => {
      const row = await store.get<{ n: number | string }>(
        "SELECT COUNT(*) AS n FROM orch_runs WHERE workflow = ? AND status = 'completed'",
        [killAgent.name],
      );
      return Number(row?.n) === AGENTS ? true : undefined;
    });

    // Kill to the replacement's next effect, per orphaned agent.
    const latencies: number[] = [];
    for (const id of orphaned) {
      const next = await store.get<{ at: number | string | null; worker: string | null }>(
        'SELECT MIN(at) AS at, MIN(worker) AS worker FROM fleet_kill_effects WHERE run_id = ? AND at > ?',
        [id, killedAt],
      );
      assert.ok(next?.at !== null && next?.at !== undefined, `agent ${id} resumed`);
      assert.notEqual(next.worker, 'wrk_kill_a');
      latencies.push(Number(next.at) - killedAt);
    }
    const p50 = percentile(latencies, 50) ?? NaN;
    const p95 = percentile(latencies, 95) ?? NaN;
    const report = await fleetReport(store, principal.tenantId);
    process.stdout.write(
      `# fleet kill: ${orphaned.length} of ${AGENTS} agents on the killed worker; kill to next step p50 ${p50} ms, p95 ${p95} ms, max ${Math.max(...latencies)} ms (lease ${LEASE_MS} ms); report: deaths ${report.deaths.detected}, detection p50 ${report.deaths.detectionLatencyMs?.p50} ms, p95 ${report.deaths.detectionLatencyMs?.p95} ms, heartbeat to resume p95 ${report.deaths.heartbeatToResumeMs?.p95} ms\n`,
    );
    assert.ok(Math.max(...latencies) <= LEASE_MS + 5_000, `every agent resumed within lease + 5 s`);
    // Every agent the killed worker held was taken over once, by another worker. On a loaded 2-core
    // machine a live worker's lease can also lapse (its heartbeat late by more than the lease) and be
    // taken over: that is a death as the fleet sees it, so the report must count it too, but it is
    // not one of the killed worker's. The report is checked against the takeovers table itself.
    const takeovers = await store.all<{
      run_id: string;
      prev_owner: string | null;
      new_owner: string;
      taken_at: number | string;
    }>('SELECT run_id, prev_owner, new_owner, taken_at FROM orch_lease_takeovers');
    const isDeathOfVictim = (t: (typeof takeovers)[number]): boolean =>
      t.prev_owner === 'wrk_kill_a' && t.new_owner !== 'wrk_kill_a' && Number(t.taken_at) >= killedAt;
    assert.deepEqual(
      takeovers
        .filter(isDeathOfVictim)
        .map((t) => t.run_id)
        .sort(),
      [...orphaned].sort(),
      'one death per orphaned agent',
    );
    const lapses = takeovers.filter((t) => !isDeathOfVictim(t));
    if (lapses.length)
      process.stdout.write(
        `# fleet kill: ${lapses.length} leases of live workers lapsed under load: ${JSON.stringify(lapses)}\n`,
      );
    assert.equal(report.deaths.detected, takeovers.filter((t) => t.prev_owner !== t.new_owner).length);
    assert.equal(report.deaths.selfReclaimed, takeovers.filter((t) => t.prev_owner === t.new_owner).length);

    // Exactly one effect per (agent, step): none repeated, none missing.
    const effects = await store.all<{ n: number | string; steps: number | string }>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT run_id || ':' || step) AS steps FROM fleet_kill_effects",
    );
    assert.equal(Number(effects[0]?.n), AGENTS * STEPS, '0 duplicate effects');
    assert.equal(Number(effects[0]?.steps), AGENTS * STEPS);

    // Every task completed by its own agent; the resumed ones at incarnation 2.
    const { tasks: done } = await kernel.call<{ tasks: Task[] }>(
      'fleet.task.list',
      { limit: 1000 },
      { principal },
    );
    assert.equal(done.filter((t) => t.status === 'completed' && t.claims === 1).length, AGENTS);
    const resumed = orphaned[0] ?? '';
    const resumedTask = done.find((t) => t.id === taskOf.get(resumed));
    // Incarnation 1 plus one per takeover by another worker: 2, unless a replacement's lease also
    // lapsed under load.
    const incarnation =
      1 + takeovers.filter((t) => t.run_id === resumed && t.prev_owner !== t.new_owner).length;
    assert.deepEqual(resumedTask?.holder, { runId: resumed, incarnation });

    // A late completion from the killed execution is refused, and changes nothing.
    await assert.rejects(
      withExecution({ runId: resumed, workerId: 'wrk_kill_a' }, () =>
        kernel.call(
          'fleet.task.complete',
          { taskId: taskOf.get(resumed), result: 'late' },
          { principal, runId: resumed },
        ),
      ),
      withCode('E_STALE_INCARNATION'),
    );
    const after = await kernel.call<Task>('fleet.task.get', { taskId: taskOf.get(resumed) }, { principal });
    assert.equal(after.result, STEPS);
  },
);
