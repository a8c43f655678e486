/**
 * Two workers on one merge queue, in one process but on two stores of the same database (as two
 * processes would be), with real git and checks in bubblewrap sandboxes, on SQLite and PostgreSQL:
 * - concurrent takers of the queue get distinct fencing tokens;
 * - while both run the same change, the worker whose token is stale is refused when it advances
 *   main (E_LEASE_LOST, it stops); main moves once, to a commit that passed;
 * - a stopped worker stays stopped: a submit leaves the entry queued and opens nothing, a kick
 *   does nothing, a restart (resumeAll) does not reopen it; only an explicit resume runs the queue,
 *   and the worker that lost the queue then is refused before it starts a single sandbox;
 * - a stop on an error (main moved outside the queue) is recorded and shown; resuming before main
 *   is moved back fails the same way; after, the held changes merge. No advance lost or doubled.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openSandboxes, type SandboxManager } from '../src/compute/index.ts';
import { readFeed, type Store } from '../src/kernel/index.ts';
import { MergeQueues, sandboxRunner, type CheckRunner } from '../src/mergequeue/index.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';

/** A real sandbox runner that holds each check until the test opens the gate. */
class Gate {
  starts = 0;
  #open = false;
  #waiters: (() => void)[] = [];
  readonly real: CheckRunner;
  constructor(real: CheckRunner) {
    this.real = real;
  }
  readonly runner: CheckRunner = async (job) => {
    this.starts++;
    this.#wake();
    while (!this.#open) await new Promise<void>((r) => this.#waiters.push(r));
    return this.real(job);
  };
  open(): void {
    this.#open = true;
    this.#wake();
  }
  async started(n: number): Promise<void> {
    while (this.starts < n) await new Promise<void>((r) => this.#waiters.push(r));
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

const tenantId = 't1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

onEveryStore('merge queue fencing and stops', (db) => {
  let fx: Fixture;
  let sandboxes: SandboxManager;
  let stores: Store[];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-fence-'));
  const opened: MergeQueues[] = [];
  let owner: MergeQueues;
  const open = async (store: Store, runner: CheckRunner): Promise<MergeQueues> => {
    const q = await MergeQueues.open({ store, runner, allowedRoots: [fx.allowedRoot] });
    opened.push(q);
    return q;
  };
  const configure = (q: MergeQueues, queue = 'app', target = 'main') =>
    q.configure(tenantId, {
      queue,
      repository: fx.bare,
      target,
      check: { command: 'sh check.sh', timeoutMs: 20_000, runtimes: ['sh'] },
      batch: { min: 1, max: 4 },
    });

  before(async () => {
    fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo ok\n' });
    sandboxes = await openSandboxes({ dataDir });
    stores = [await db().open(), await db().open()];
  });
  after(async () => {
    for (const q of opened) await q.close();
    for (const s of stores) await s.close();
    await sandboxes.close();
    fx.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Main's first-parent commits are each a passing check's commit, one per advance, none empty. */
  const assertMainChecked = async (q: MergeQueues, expected?: number): Promise<void> => {
    const log = fx.mainLog();
    const advances = log.length - 1;
    if (expected !== undefined) assert.equal(advances, expected, 'one commit per advance');
    const passed = new Set(
      (await q.rows.checks(tenantId, 'app')).filter((c) => c.outcome === 'pass').map((c) => c.commit),
    );
    for (const commit of log.slice(0, -1)) assert.ok(passed.has(commit), `${commit} on main was not checked`);
    const trees = log.map((c) => git(fx.bare, 'rev-parse', `${c}^{tree}`));
    assert.equal(new Set(trees).size, trees.length, 'no advance repeated a tree (a change merged twice)');
    const row = await q.rows.queue(tenantId, 'app');
    assert.equal(row.mainCommit, log[0]);
    assert.equal(row.mainVersion, advances);
    assert.equal((await q.rows.versions(tenantId, 'app')).size, advances + 1);
  };

  it('concurrent takers of a queue get distinct fencing tokens', async () => {
    const [a, b] = [
      await open(stores[0] as Store, sandboxRunner(sandboxes)),
      await open(stores[1] as Store, sandboxRunner(sandboxes)),
    ];
    fx.branch('race-target', { 'r.txt': 'r\n' });
    await configure(a, 'race', 'race-target');
    const tokens = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a : b).rows.takeFence(tenantId, 'race')),
    );
    assert.equal(new Set(tokens).size, 16, `tokens handed out twice: ${tokens.join(',')}`);
    assert.equal((await a.rows.queue(tenantId, 'race')).fence, 16);
  });

  it('the worker with a stale token is refused at the push; main advances once, to a passing commit', async () => {
    const gateA = new Gate(sandboxRunner(sandboxes));
    const gateB = new Gate(sandboxRunner(sandboxes));
    const a = await open(stores[0] as Store, gateA.runner);
    const b = await open(stores[1] as Store, gateB.runner);
    await configure(a);
    const initial = fx.mainLog();
    fx.branch('feat-1', { 'one.txt': '1\n' });
    const e1 = await a.submit(tenantId, { queue: 'app', branch: 'feat-1', author: 'agent-1' });
    await gateA.started(1); // A's check of feat-1 runs
    const wa = await a.worker(tenantId, 'app');
    const wb = await b.worker(tenantId, 'app'); // "another process" takes the queue
    assert.ok(wb.fence > wa.fence);
    const bDone = wb.kick();
    await gateB.started(1); // B checks feat-1 again: it never trusts A's run
    gateA.open();
    await assert.rejects(a.idle(tenantId, 'app'), withCode('E_LEASE_LOST'));
    assert.equal(wa.failure?.code, 'E_LEASE_LOST');
    assert.deepEqual(fx.mainLog(), initial, 'the stale worker did not move main');
    assert.equal((await a.rows.queue(tenantId, 'app')).mainVersion, 0);
    gateB.open();
    await bDone;
    assert.equal(wb.failure, undefined);
    const merged = await b.rows.entry(tenantId, e1.id);
    assert.equal(merged.state, 'merged');
    assert.equal(merged.mergedCommit, fx.mainLog()[0]);
    const history = await b.rows.history(tenantId, e1.id);
    assert.equal(history.filter((h) => h.to === 'merged').length, 1);
    await assertMainChecked(b, 1);
    const advance = await stores[0]?.get(
      'SELECT fence FROM mq_advances WHERE tenant_id = ? AND queue_id = ? AND version = 1',
      [tenantId, 'app'],
    );
    assert.equal(Number(advance?.['fence']), wb.fence, 'the move was made under the newer token');

    // A's worker stays stopped: a submit is recorded and held, a kick runs nothing, a restart skips it.
    fx.branch('feat-2', { 'two.txt': '2\n' });
    const e2 = await a.submit(tenantId, { queue: 'app', branch: 'feat-2', author: 'agent-2' });
    assert.equal(e2.state, 'queued');
    assert.match(e2.reason, /queue stopped/);
    const starts = gateA.starts;
    await wa.kick();
    await a.resumeAll([tenantId]);
    assert.equal(await a.worker(tenantId, 'app'), wa, 'no new worker was opened');
    await sleep(300);
    assert.equal(gateA.starts, starts, 'no check ran');
    assert.equal((await a.rows.entry(tenantId, e2.id)).state, 'queued');
    const stats = await a.stats(tenantId, 'app');
    assert.equal(stats.stopped?.code, 'E_LEASE_LOST');
    assert.equal((await a.rows.queue(tenantId, 'app')).fence, wb.fence, 'A took nothing back');

    // A person resumes the queue on A: a new worker takes it and runs the held change.
    await a.setPaused(tenantId, 'app', false);
    await a.idle(tenantId, 'app');
    const wa2 = await a.worker(tenantId, 'app');
    assert.ok(wa2.fence > wb.fence);
    assert.equal((await a.rows.entry(tenantId, e2.id)).state, 'merged');
    assert.equal((await a.stats(tenantId, 'app')).stopped, null);
    // B now holds a stale token: it is refused at its first write, before it starts a sandbox.
    fx.branch('feat-3', { 'three.txt': '3\n' });
    const e3 = await b.submit(tenantId, { queue: 'app', branch: 'feat-3', author: 'agent-3' });
    await assert.rejects(b.idle(tenantId, 'app'), withCode('E_LEASE_LOST'));
    assert.equal(gateB.starts, 1, 'the stale worker started no check');
    assert.equal((await b.rows.entry(tenantId, e3.id)).state, 'queued');
    await assertMainChecked(a, 2);
    owner = a;
  });

  it('a queue stopped on an error stays stopped until resumed, across processes and restarts', async () => {
    const a = owner; // owns the queue since the resume
    const recorded = (await a.rows.queue(tenantId, 'app')).mainCommit;
    const outside = git(fx.bare, 'commit-tree', `${recorded}^{tree}`, '-m', 'rewritten outside the queue');
    git(fx.bare, 'update-ref', 'refs/heads/main', outside);
    fx.branch('feat-4', { 'four.txt': '4\n' }, 'feat-1');
    await a.submit(tenantId, { queue: 'app', branch: 'feat-4', author: 'agent-4' });
    await assert.rejects(a.idle(tenantId, 'app'), withCode('E_NOT_FAST_FORWARD'));
    const row = await a.rows.queue(tenantId, 'app');
    assert.equal(row.stopped?.code, 'E_NOT_FAST_FORWARD');
    assert.equal(row.mainCommit, recorded, 'nothing recorded');

    // A third "process" sees the stop, holds submissions, and neither a submit nor a restart opens a worker.
    const c = await open(stores[1] as Store, sandboxRunner(sandboxes));
    fx.branch('feat-5', { 'five.txt': '5\n' }, 'feat-1');
    const e5 = await c.submit(tenantId, { queue: 'app', branch: 'feat-5', author: 'agent-5' });
    assert.equal(e5.state, 'queued');
    await c.resumeAll([tenantId]);
    await assert.rejects(c.idle(tenantId, 'app'), withCode('E_NOT_FAST_FORWARD'));
    assert.equal((await c.rows.queue(tenantId, 'app')).fence, row.fence, 'no worker took the queue');
    assert.equal((await c.stats(tenantId, 'app')).stopped?.code, 'E_NOT_FAST_FORWARD');
    // Resuming before main is moved back stops again, with the same reason.
    await assert.rejects(c.setPaused(tenantId, 'app', false), withCode('E_NOT_FAST_FORWARD'));
    assert.equal((await c.rows.queue(tenantId, 'app')).stopped?.code, 'E_NOT_FAST_FORWARD');
    git(fx.bare, 'update-ref', 'refs/heads/main', recorded);
    await c.setPaused(tenantId, 'app', false);
    await c.idle(tenantId, 'app');
    assert.equal((await c.rows.entry(tenantId, e5.id)).state, 'merged');
    const states = (await c.rows.entries(tenantId, 'app')).map((e) => [e.branch, e.state]);
    assert.deepEqual(states, [
      ['feat-1', 'merged'],
      ['feat-2', 'merged'],
      ['feat-3', 'merged'],
      ['feat-4', 'merged'],
      ['feat-5', 'merged'],
    ]);
    await assertMainChecked(c); // feat-3..5 may merge in one batch
    // The kernel event bus heard it all: feat-5 queued … merged, the queue stopped and resumed.
    const feed = await readFeed(stores[1] as Store, { tenantId, after: 0, patterns: ['mq:*'], limit: 1000 });
    const e5States = feed.flatMap((e) =>
      e.topic === 'mq:changed' && (e.payload as { entryId: string }).entryId === e5.id
        ? [(e.payload as { state: string }).state]
        : [],
    );
    assert.equal(e5States[0], 'queued');
    assert.equal(e5States.at(-1), 'merged');
    const stops = feed.filter((e) => e.topic === 'mq:queue').map((e) => e.payload);
    assert.deepEqual(stops.slice(-2), [
      { queue: 'app', stopped: 'E_NOT_FAST_FORWARD' },
      { queue: 'app', stopped: null },
    ]);
  });
});
