// Crash test with real processes on PostgreSQL: 3 worker processes run 500 five-step workflows,
// started in two waves, whose effects are counted in a table; a worker is killed with SIGKILL
// during each wave. Proves: no
// run lost, every run completed, every step's effect applied exactly once (effects are written in
// the transaction that journals the step), and the killed workers' runs resumed within the lease
// expiry + 1 s.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import type { Store } from '../src/kernel/index.ts';
import { Engine } from '../src/orchestration/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { crashWorkflowSpec } from './fixtures/crash-spec.ts';

const RUNS = 500;
const LEASE_MS = 1500;
const principal = { tenantId: 'ten_crash', id: 'key_crash', kind: 'api_key' as const, grants: [] };

let db: { url: string; drop: () => Promise<void> };
let store: Store;
let engine: Engine;
const workers = new Map<string, ChildProcess>();
const killed = new Set<string>();
/** Workers that died without being killed by the test: a bug to report, not a scenario. */
const unexpectedExits: string[] = [];

function startWorker(id: string): Promise<void> {
  const child = spawn(process.execPath, ['test/fixtures/crash-worker.ts', db.url, id, String(LEASE_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.set(id, child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code, signal) => {
      if (!killed.has(id)) unexpectedExits.push(`${id} exited with ${code ?? signal}`);
      reject(new Error(`worker ${id} exited early with ${code ?? signal}`));
    });
  });
}

const count = async (sql: string, params: (string | number)[] = []): Promise<number> =>
  Number((await store.get<{ n: number }>(sql, params))?.n ?? 0);
const completed = (): Promise<number> =>
  count("SELECT COUNT(*) AS n FROM orch_runs WHERE status = 'completed'");

/** The unfinished runs, each worker's effects (and its last one), and who took over whose runs: for a failure message. */
async function unfinished(): Promise<string> {
  const workerEffects = await store.all(
    'SELECT worker, COUNT(*) AS n, ? - MAX(at) AS last_ms_ago FROM crash_effects GROUP BY worker',
    [Date.now()],
  );
  const rows = await store.all(
    `SELECT status, lease_owner, attempt, error, (lease_expires_at - ?) AS lease_left_ms, available_at - ? AS due_in_ms, COUNT(*) AS n
     FROM orch_runs WHERE status <> 'completed' GROUP BY status, lease_owner, attempt, error, lease_expires_at, available_at LIMIT 20`,
    [Date.now(), Date.now()],
  );
  const takeovers = await store.all(
    'SELECT prev_owner, new_owner, COUNT(*) AS n FROM orch_lease_takeovers GROUP BY prev_owner, new_owner',
  );
  return `${JSON.stringify(rows)}; effects by worker: ${JSON.stringify(workerEffects)}; takeovers: ${JSON.stringify(takeovers)}`;
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (unexpectedExits.length) throw new Error(`a worker died on its own: ${unexpectedExits.join('; ')}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting; unfinished runs: ${await unfinished()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGKILLs a worker; resolves with how long each of its leased runs took to be resumed elsewhere. */
async function killAndMeasure(id: string): Promise<number[]> {
  // Runs are short, so a worker can be between claims at any instant: wait until it holds some.
  let leased: string[] = [];
  await until(async () => {
    const rows = await store.all<{ id: string }>(
      "SELECT id FROM orch_runs WHERE lease_owner = ? AND status = 'running'",
      [id],
    );
    leased = rows.map((r) => r.id);
    return leased.length > 0;
  }, 30_000);
  const killedAt = Date.now();
  killed.add(id);
  workers.get(id)?.kill('SIGKILL');
  const resumed = new Map<string, number>();
  // One query per poll for all the runs (not one per run). A run counts as resumed at its row's
  // updated_at once another worker holds it (the claim writes it; later writes only move it on) or
  // it completed: an upper bound of the resumption that leaves out this poll's own lag, which on a
  // loaded 2-core machine is itself hundreds of milliseconds.
  await until(async () => {
    const waiting = leased.filter((runId) => !resumed.has(runId));
    const rows = await store.all<{
      id: string;
      lease_owner: string | null;
      status: string;
      updated_at: number;
    }>(
      `SELECT id, lease_owner, status, updated_at FROM orch_runs WHERE id IN (${waiting.map(() => '?').join(', ')})`,
      waiting,
    );
    for (const row of rows)
      if (row.status === 'completed' || (row.lease_owner !== null && row.lease_owner !== id))
        resumed.set(row.id, Math.max(0, Number(row.updated_at) - killedAt));
    return resumed.size === leased.length;
  }, 30_000);
  return [...resumed.values()];
}

before(async () => {
  db = await createTestDatabase();
  store = await createPostgresStore({ connectionString: db.url });
  engine = await Engine.open({ store });
  engine.register(crashWorkflowSpec);
  await store.run(
    `CREATE TABLE crash_effects (run_id TEXT NOT NULL, step INTEGER NOT NULL, worker TEXT NOT NULL,
       at BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)`,
  );
  await Promise.all(['wrk_a', 'wrk_b', 'wrk_c'].map(startWorker));
  await startRuns(0, RUNS / 2);
});

/** Starts runs from..to-1, one at a time (each start is its own transaction, as a client's would be). */
async function startRuns(from: number, to: number): Promise<void> {
  for (let n = from; n < to; n++) await engine.start('crash5', { n }, { principal });
}

after(async () => {
  for (const [id, child] of workers) {
    killed.add(id);
    child.kill('SIGKILL');
  }
  await store?.close();
  await db?.drop();
});

test(
  '500 workflows survive two SIGKILLed workers: none lost, every effect exactly once, fast resumption',
  { timeout: 240_000 },
  async () => {
    // The runs come in two waves, the second started as the second kill is prepared, so that worker
    // still has runs to hold however fast the first wave went (a quiet machine finished all 500
    // before a second kill that waited for 60 % completed could see its victim holding one).
    await until(async () => (await completed()) >= RUNS * 0.125, 120_000);
    const first = await killAndMeasure('wrk_a');
    const secondWave = startRuns(RUNS / 2, RUNS);
    const second = await killAndMeasure('wrk_b');
    await secondWave;
    await until(async () => (await completed()) === RUNS, 180_000);

    assert.equal(await count('SELECT COUNT(*) AS n FROM orch_runs'), RUNS, 'no run lost');
    assert.equal(await count("SELECT COUNT(*) AS n FROM orch_runs WHERE status <> 'completed'"), 0);
    assert.equal(await count('SELECT COUNT(*) AS n FROM crash_effects'), RUNS * 5, 'each step applied once');
    assert.equal(
      await count(
        'SELECT COUNT(*) AS n FROM (SELECT run_id, step FROM crash_effects GROUP BY run_id, step HAVING COUNT(*) > 1) d',
      ),
      0,
      'no duplicated effect',
    );
    const killedWorkersEffects = await count(
      "SELECT COUNT(*) AS n FROM crash_effects WHERE worker IN ('wrk_a', 'wrk_b')",
    );
    assert.ok(killedWorkersEffects > 0, 'the killed workers did real work before dying');
    const resumption = [...first, ...second];
    const worst = Math.max(...resumption);
    process.stdout.write(
      `# crash: ${resumption.length} runs held by killed workers; resumed after p50 ${resumption.sort((a, b) => a - b)[Math.floor(resumption.length / 2)]} ms, max ${worst} ms (lease ${LEASE_MS} ms)\n`,
    );
    assert.ok(worst <= LEASE_MS + 1000, `resumption took ${worst} ms, more than lease + 1 s`);
  },
);
