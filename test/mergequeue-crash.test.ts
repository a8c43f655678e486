/**
 * Crash safety (issue 13): the queue worker is killed with SIGKILL right after it recorded a move
 * of main but before git's ref moved, and again in the middle of a check. Each time a new worker
 * process resumes the queue: the recorded move is finished (its commit passed) and its changes are
 * marked merged, the changes under test are checked again, main is never left on an unchecked
 * commit and no change merges twice (in the store, or as a merge parent of two commits on main).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { QueueStore } from '../src/mergequeue/index.ts';
import { createFixture, git } from './mergequeue-fixture.ts';

const fx = createFixture({ 'check.sh': 'sleep 1; test ! -f BROKEN\n' });
const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-crash-'));
const dbPath = join(dataDir, 'strata.db');
after(() => {
  fx.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Child {
  readonly exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  kill(): void;
}

function worker(env: Record<string, string>): Child {
  const child = spawn(
    process.execPath,
    ['test/mergequeue-crash-child.ts', dbPath, dataDir, fx.allowedRoot, fx.bare],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr }))),
    kill: () => child.kill('SIGKILL'),
  };
}

const rows = async <T>(fn: (q: QueueStore) => Promise<T>): Promise<T> => {
  const store = await createSqliteStore({ path: dbPath });
  try {
    return await fn(new QueueStore(store));
  } finally {
    await store.close();
  }
};

test(
  'kill -9 mid-push and mid-check: the queue resumes, main stays checked, nothing merges twice',
  { timeout: 300_000 },
  async () => {
    for (const n of [1, 2, 3, 4, 5, 6])
      fx.branch(`b${n}`, n === 5 ? { BROKEN: '1\n' } : { [`f${n}.txt`]: `${n}\n` });

    // 1. Killed between recording the move in the store and moving git's ref.
    const pushing = await worker({ MQ_SUBMIT: 'b1,b2,b3', MQ_CRASH_PUSH: '1' }).exited;
    assert.equal(pushing.signal, 'SIGKILL', pushing.stderr);
    const recorded = await rows((q) => q.queue('t1', 'app'));
    assert.notEqual(
      git(fx.bare, 'rev-parse', 'main'),
      recorded.mainCommit,
      'the crash hit between store and git',
    );
    const resumed = await worker({}).exited;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(git(fx.bare, 'rev-parse', 'main'), (await rows((q) => q.queue('t1', 'app'))).mainCommit);

    // 2. Killed while a check runs in its sandbox.
    const checking = worker({ MQ_SUBMIT: 'b4,b5,b6' });
    let hit = false;
    for (let i = 0; i < 600 && !hit; i++) {
      const all = await rows((q) => q.entries('t1', 'app'));
      const ours = all.filter((e) => ['b4', 'b5', 'b6'].includes(e.branch)).map((e) => e.id);
      const checks = await rows((q) => q.checks('t1', 'app'));
      // All three submitted and a check of one of them started in its sandbox, not finished.
      hit =
        ours.length === 3 && checks.some((c) => c.outcome === null && c.tree.some((id) => ours.includes(id)));
      if (!hit) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(hit, 'a check of the second batch was running');
    checking.kill();
    assert.equal((await checking.exited).signal, 'SIGKILL');
    const again = await worker({}).exited;
    assert.equal(again.code, 0, again.stderr);

    const entries = await rows((q) => q.entries('t1', 'app'));
    const state = Object.fromEntries(entries.map((e) => [e.branch, e.state]));
    assert.deepEqual(state, {
      b1: 'merged',
      b2: 'merged',
      b3: 'merged',
      b4: 'merged',
      b5: 'rejected',
      b6: 'merged',
    });
    for (const e of entries) {
      const merges = (await rows((q) => q.history('t1', e.id))).filter((h) => h.to === 'merged');
      assert.ok(merges.length <= 1, `${e.branch} merged ${merges.length} times`);
    }
    const passed = new Set(
      (await rows((q) => q.checks('t1', 'app'))).filter((c) => c.outcome === 'pass').map((c) => c.commit),
    );
    const history = fx.mainLog();
    for (const commit of history.slice(0, -1))
      assert.ok(passed.has(commit), `${commit} on main was not checked`);
    // Each merged change is a merge parent of exactly one commit on main: the move the crash left
    // unfinished is finished, its changes marked merged, not checked and pushed a second time.
    const parents = history.map((c) =>
      git(fx.bare, 'rev-list', '--parents', '-n', '1', c).split(' ').slice(2),
    );
    for (const e of entries.filter((x) => x.state === 'merged')) {
      const moves = parents.filter((p) => p.includes(e.headCommit)).length;
      assert.equal(moves, 1, `${e.branch} was pushed to main ${moves} times`);
    }
    const files = git(fx.bare, 'ls-tree', '--name-only', 'main').split('\n');
    assert.deepEqual(files.filter((f) => /^f\d\.txt$/.test(f)).sort(), [
      'f1.txt',
      'f2.txt',
      'f3.txt',
      'f4.txt',
      'f6.txt',
    ]);
    assert.ok(!files.includes('BROKEN'));
  },
);
