// Durability of a supervision tree with real processes on PostgreSQL: a one_for_all supervisor of
// five agents runs in a worker process; a child fails and the worker is SIGKILLed while the
// supervisor restarts the group; another worker takes over. The tree comes back as it was — every
// child at incarnation 2, each incarnation started exactly once — and killing the next worker
// while the tree is idle changes nothing at all.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import type { Store } from '../src/kernel/index.ts';
import { Engine } from '../src/orchestration/index.ts';
import { fleetTree, type TreeNode } from '../src/orchestration/supervision/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { CRASH_CHILDREN, crashAgent, crashSupervisor } from './fixtures/supervision-spec.ts';

const LEASE_MS = 1500;
const principal = { tenantId: 'ten_supcrash', id: 'key_supcrash', kind: 'api_key' as const, grants: [] };

let db: { url: string; drop: () => Promise<void> };
let store: Store;
let engine: Engine;
const workers: ChildProcess[] = [];

function startWorker(id: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['test/fixtures/supervision-worker.ts', db.url, id, String(LEASE_MS)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${id} exited early with ${code ?? signal}`)),
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function treeUntil(
  runId: string,
  ready: (t: TreeNode) => boolean,
  timeoutMs = 20_000,
): Promise<TreeNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tree = await fleetTree(engine, principal.tenantId, runId);
    if (ready(tree)) return tree;
    if (Date.now() > deadline) throw new Error(`tree never got ready: ${JSON.stringify(tree)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const settled = (incarnation: number) => (t: TreeNode) =>
  t.status === 'waiting' &&
  t.children.length === CRASH_CHILDREN.length &&
  t.children.every((c) => c.incarnation === incarnation && c.status === 'waiting');

const shape = (t: TreeNode) => t.children.map((c) => [c.childId, c.incarnation, c.runId, c.status]);

before(async () => {
  db = await createTestDatabase();
  store = await createPostgresStore({ connectionString: db.url });
  engine = await Engine.open({ store });
  engine.register(crashAgent);
  engine.register(crashSupervisor);
  await store.run('CREATE TABLE sup_crash_starts (run_id TEXT NOT NULL, tag TEXT NOT NULL)');
});

after(async () => {
  for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
  await store?.close();
  await db?.drop();
});

test(
  'a supervision tree survives SIGKILL of its worker mid-restart, no child started twice',
  { timeout: 120_000 },
  async () => {
    const first = await startWorker('wrk_sup_a');
    const sup = await engine.start('sup-crash.tree', {}, { principal });
    const t1 = await treeUntil(sup.id, settled(1));

    // A child fails; the worker dies while the supervisor is terminating and restarting the group.
    await engine.signal(principal.tenantId, t1.children[1]?.runId ?? '', 'finish', { mode: 'fail' });
    // Kill as soon as the first sibling is terminated, while the rest of the restart is to do.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      const cancelled = await store.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM orch_runs WHERE parent_id = ? AND status = 'cancelled'",
        [sup.id],
      );
      if (Number(cancelled?.n) > 0) break;
    }
    await kill(first);
    const killedAt = Date.now();
    const atKill = await store.all<{ status: string; n: number }>(
      'SELECT status, COUNT(*) AS n FROM orch_runs WHERE parent_id = ? OR id = ? GROUP BY status',
      [sup.id, sup.id],
    );
    assert.ok(
      atKill.some((r) => r.status === 'cancelled'),
      'the worker died mid-restart',
    );
    const second = await startWorker('wrk_sup_b');
    const t2 = await treeUntil(sup.id, settled(2));
    process.stdout.write(
      `# supervision crash: tree back at incarnation 2 ${Date.now() - killedAt} ms after SIGKILL (lease ${LEASE_MS} ms); runs at the kill: ${JSON.stringify(atKill)}\n`,
    );

    const starts = await store.all<{ run_id: string; n: number }>(
      'SELECT run_id, COUNT(*) AS n FROM sup_crash_starts GROUP BY run_id',
    );
    assert.equal(starts.length, CRASH_CHILDREN.length * 2, 'two incarnations of each child, no third');
    assert.ok(
      starts.every((s) => Number(s.n) === 1),
      'each incarnation started exactly once',
    );
    const runs = await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM orch_runs WHERE parent_id = ?', [
      sup.id,
    ]);
    assert.equal(Number(runs?.n), CRASH_CHILDREN.length * 2);

    // Killed again while idle: the next worker finds the same tree and changes nothing.
    await kill(second);
    await startWorker('wrk_sup_c');
    await engine.wake(store, sup.id);
    await new Promise((r) => setTimeout(r, LEASE_MS + 500));
    const t3 = await treeUntil(sup.id, settled(2));
    assert.deepEqual(shape(t3), shape(t2), 'the tree came back as it was');

    // And it still supervises: a failure under the third worker restarts the group once more.
    await engine.signal(principal.tenantId, t3.children[0]?.runId ?? '', 'finish', { mode: 'fail' });
    await treeUntil(sup.id, settled(3));
    const total = await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM sup_crash_starts');
    assert.equal(Number(total?.n), CRASH_CHILDREN.length * 3);
  },
);
