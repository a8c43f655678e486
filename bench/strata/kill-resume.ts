// Kill-to-resume across worker processes on PostgreSQL, for bench/fleet.ts: the crash test's
// five-step workflow (each step's effect is a row written in the transaction that journals it)
// run by 3 worker processes; two of them are SIGKILLed mid-way, one after the other. For each run
// the killed worker held, the time from the kill until the run is leased by another worker (or
// done). Then every effect is counted: a duplicate means a step ran twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPostgresStore } from '../../src/kernel/store/drivers/postgres/index.ts';
import type { Principal, Store } from '../../src/kernel/index.ts';
import { Engine } from '../../src/orchestration/index.ts';
import { createTestDatabase } from '../../src/testkit/pg.ts';
import { crashWorkflowSpec } from '../../test/fixtures/crash-spec.ts';
import { latencies, type Latencies } from './fleet.ts';

const principal: Principal = { tenantId: 'ten_kill', id: 'key_kill', kind: 'api_key', grants: [] };
const workerScript = fileURLToPath(new URL('../../test/fixtures/crash-worker.ts', import.meta.url));

export interface KillFigures extends Latencies {
  readonly runs: number;
  readonly leaseMs: number;
  readonly duplicateEffects: number;
  readonly missingEffects: number;
}

export async function killToResume(runs: number, leaseMs: number): Promise<KillFigures> {
  const db = await createTestDatabase();
  const store = await createPostgresStore({ connectionString: db.url });
  const children = new Map<string, ChildProcess>();
  const count = async (sql: string, params: string[] = []): Promise<number> =>
    Number((await store.get<{ n: number }>(sql, params))?.n ?? 0);
  try {
    const engine = await Engine.open({ store });
    engine.register(crashWorkflowSpec);
    await store.run(
      'CREATE TABLE crash_effects (run_id TEXT NOT NULL, step INTEGER NOT NULL, worker TEXT NOT NULL)',
    );
    await Promise.all(['wrk_a', 'wrk_b', 'wrk_c'].map((id) => startWorker(children, id, db.url, leaseMs)));
    await engine.startMany(
      'crash5',
      Array.from({ length: runs }, (_, n) => ({ n })),
      { principal },
    );
    const done = (): Promise<number> =>
      count("SELECT COUNT(*) AS n FROM orch_runs WHERE status = 'completed'");
    await until(async () => (await done()) >= runs * 0.2, 120_000);
    const first = await killAndMeasure(store, children, 'wrk_a');
    await until(async () => (await done()) >= runs * 0.55, 120_000);
    const second = await killAndMeasure(store, children, 'wrk_b');
    await until(async () => (await done()) === runs, 180_000);
    const duplicateEffects = await count(
      'SELECT COALESCE(SUM(n - 1), 0) AS n FROM (SELECT COUNT(*) AS n FROM crash_effects GROUP BY run_id, step HAVING COUNT(*) > 1) d',
    );
    const missingEffects =
      runs * 5 - (await count('SELECT COUNT(DISTINCT (run_id, step)) AS n FROM crash_effects'));
    return { ...latencies([...first, ...second]), runs, leaseMs, duplicateEffects, missingEffects };
  } finally {
    for (const child of children.values()) child.kill('SIGKILL');
    await store.close();
    await db.drop();
  }
}

function startWorker(
  children: Map<string, ChildProcess>,
  id: string,
  url: string,
  leaseMs: number,
): Promise<void> {
  const child = spawn(process.execPath, [workerScript, url, id, String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.set(id, child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code, signal) => reject(new Error(`worker ${id} exited with ${code ?? signal}`)));
  });
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('bench: timed out waiting for the runs');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** SIGKILLs a worker holding runs; resolves with each held run's time to be leased elsewhere. */
async function killAndMeasure(
  store: Store,
  children: Map<string, ChildProcess>,
  id: string,
): Promise<number[]> {
  // Runs are short, so a worker can be between claims at any instant: wait until it holds some.
  const heldBy = (): Promise<{ id: string }[]> =>
    store.all("SELECT id FROM orch_runs WHERE lease_owner = ? AND status = 'running'", [id]);
  let held = new Set<string>();
  await until(async () => (held = new Set((await heldBy()).map((r) => r.id))).size > 0, 30_000);
  const killedAt = Date.now();
  children.get(id)?.kill('SIGKILL');
  // One query per poll for all the runs not yet moved, so the probe itself stays a few ms.
  const remaining = held;
  const resumedAfter: number[] = [];
  while (remaining.size > 0) {
    if (Date.now() > killedAt + 30_000)
      throw new Error(`bench: ${remaining.size} runs of ${id} never resumed`);
    const ids = [...remaining];
    const moved = await store.all<{ id: string }>(
      `SELECT id FROM orch_runs WHERE id IN (${ids.map(() => '?').join(', ')})
         AND (status = 'completed' OR (lease_owner IS NOT NULL AND lease_owner <> ?))`,
      [...ids, id],
    );
    const after = Date.now() - killedAt;
    for (const row of moved) {
      remaining.delete(row.id);
      resumedAfter.push(after);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return resumedAfter;
}
