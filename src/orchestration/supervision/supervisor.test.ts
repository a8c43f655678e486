// Supervision trees end to end on real durable runs, with a Worker, on SQLite and PostgreSQL:
// one_for_all terminates siblings last-first and restarts all first-first as new incarnations; a
// nested supervisor that exceeds its intensity fails to the root; a late completion of a replaced
// incarnation changes nothing and is refused by the fence; auto_shutdown ends a task group.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import type { JournalRow } from '../run-row.ts';
import { harness, type Harness } from '../testing.ts';
import type { SupervisorEvent } from './spec.ts';
import { defineSupervisor } from './supervisor.ts';
import { assertCurrentIncarnation, fleetTree, type TreeNode } from './tree.ts';

/** A child that runs until told to finish (`normal`) or fail. */
const agent = defineWorkflow(
  { name: 'sup-test.agent', version: 1, input: z.object({ tag: z.string() }), output: z.string() },
  async (ctx, input) => {
    const { mode } = await ctx.waitFor<{ mode: 'normal' | 'fail' }>('finish');
    if (mode === 'fail') throw new Error(`${input.tag} failed`);
    return input.tag;
  },
);

const events: (SupervisorEvent & { supervisorRunId: string })[] = [];
const onEvent = (event: SupervisorEvent & { supervisorRunId: string }): void => void events.push(event);
const noBackoff = { backoff: { baseMs: 0, maxMs: 0 }, breaker: { deaths: 100 } };

const allForOne = defineSupervisor({
  name: 'sup-test.all',
  version: 1,
  strategy: 'one_for_all',
  ...noBackoff,
  onEvent,
  children: ['a', 'b', 'c'].map((id) => ({ id, workflow: agent, input: { tag: id } })),
});

const inner = defineSupervisor({
  name: 'sup-test.inner',
  version: 1,
  strategy: 'one_for_one',
  intensity: 1,
  periodMs: 60_000,
  ...noBackoff,
  onEvent,
  children: [{ id: 'x', workflow: agent, input: { tag: 'x' } }],
});

const root = defineSupervisor({
  name: 'sup-test.root',
  version: 1,
  strategy: 'one_for_one',
  intensity: 0,
  ...noBackoff,
  onEvent,
  children: [
    { id: 'inner', workflow: inner, input: {} },
    { id: 'peer', workflow: agent, input: { tag: 'peer' } },
  ],
});

const taskGroup = defineSupervisor({
  name: 'sup-test.group',
  version: 1,
  strategy: 'one_for_one',
  autoShutdown: 'all_significant',
  ...noBackoff,
  children: [
    { id: 'watcher', workflow: agent, input: { tag: 'watcher' } },
    { id: 'job1', workflow: agent, input: { tag: 'job1' }, restart: 'transient', significant: true },
    { id: 'job2', workflow: agent, input: { tag: 'job2' }, restart: 'transient', significant: true },
  ],
});

const fragile = defineSupervisor({
  name: 'sup-test.fragile',
  version: 1,
  strategy: 'one_for_one',
  intensity: 10,
  backoff: { baseMs: 400, maxMs: 400 },
  breaker: { deaths: 3, windowMs: 10_000, cooldownMs: 700 },
  onEvent,
  children: [{ id: 'w', workflow: agent, input: { tag: 'w' } }],
});

const pool = defineSupervisor({
  name: 'sup-test.pool',
  version: 1,
  strategy: 'simple_one_for_one',
  childSpec: { workflow: agent, restart: 'temporary' },
});

async function setup(h: Harness): Promise<void> {
  h.engine.register(agent);
  for (const def of [allForOne, inner, root, taskGroup, fragile, pool]) h.engine.register(def);
  await h.worker({ concurrency: 20 });
}

/** Polls the tree until `ready` holds. */
async function treeUntil(h: Harness, runId: string, ready: (t: TreeNode) => boolean): Promise<TreeNode> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const tree = await fleetTree(h.engine, h.principal.tenantId, runId);
    if (ready(tree)) return tree;
    if (Date.now() > deadline) throw new Error(`tree never got ready: ${JSON.stringify(tree, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until supervisor `supId` has taken the exit of child run `childRunId` (journaled) and its
 * run has settled again (not queued, not running), then returns its status. Tests assert on that
 * state rather than sleeping a fixed time, which under load sees the supervisor still at work.
 */
async function settledAfterExit(h: Harness, supId: string, childRunId: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const taken = (await journalOf(h, supId)).some(
      (row) => row.kind === 'exit' && row.status === 'ok' && row.output?.includes(childRunId) === true,
    );
    const { status } = await h.engine.get(h.principal.tenantId, supId);
    if (taken && status !== 'queued' && status !== 'running') return status;
    if (Date.now() > deadline) throw new Error(`supervisor never took the exit of ${childRunId} (${status})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const allWaiting = (incarnation: number) => (t: TreeNode) =>
  t.status === 'waiting' &&
  t.children.length > 0 &&
  t.children.every((c) => c.incarnation === incarnation && c.status === 'waiting');

const child = (t: TreeNode, id: string): TreeNode => {
  const found = t.children.find((c) => c.childId === id);
  if (!found) throw new Error(`no child ${id}`);
  return found;
};

const journalOf = (h: Harness, runId: string): Promise<JournalRow[]> =>
  h.engine.journal(h.principal.tenantId, runId);

onEveryStore('supervision trees', (db) => {
  it('one_for_all: a failing child takes its siblings down last-first and all restart first-first', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const sup = await h.engine.start('sup-test.all', {}, { principal: h.principal });
    const before = await treeUntil(h, sup.id, allWaiting(1));
    const old: Record<string, string> = Object.fromEntries(
      before.children.map((c) => [c.childId ?? '', c.runId]),
    );
    await h.engine.signal(h.principal.tenantId, old['b'] ?? '', 'finish', { mode: 'fail' });
    const after = await treeUntil(h, sup.id, allWaiting(2));
    assert.deepEqual(
      after.children.map((c) => [c.childId, c.incarnation, c.restarts]),
      [
        ['a', 2, 1],
        ['b', 2, 1],
        ['c', 2, 1],
      ],
    );
    for (const c of after.children) assert.notEqual(c.runId, old[c.childId ?? '']);
    const journal = await journalOf(h, sup.id);
    const cancels = journal.filter((j) => j.name.startsWith('cancel:')).map((j) => j.name.slice(7));
    assert.deepEqual(cancels, [old['c'], old['a']], 'siblings terminated in reverse start order');
    const starts = journal
      .filter((j) => j.kind === 'child')
      .map((j) => (JSON.parse(j.output ?? '{}') as { runId: string }).runId);
    assert.deepEqual(
      starts.slice(3),
      ['a', 'b', 'c'].map((id) => child(after, id).runId),
      'restarted in start order',
    );
    assert.equal((await h.engine.get(h.principal.tenantId, old['a'] ?? '')).status, 'cancelled');
  });

  it('a late completion of a replaced incarnation changes nothing, and the fence refuses it', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const sup = await h.engine.start('sup-test.all', {}, { principal: h.principal });
    const first = await treeUntil(h, sup.id, allWaiting(1));
    await h.engine.signal(h.principal.tenantId, child(first, 'a').runId, 'finish', { mode: 'fail' });
    const second = await treeUntil(h, sup.id, allWaiting(2));
    const staleRun = child(first, 'c').runId;
    await assert.rejects(
      assertCurrentIncarnation(h.engine, h.principal.tenantId, staleRun),
      withCode('E_STALE_INCARNATION'),
    );
    assert.deepEqual(
      await assertCurrentIncarnation(h.engine, h.principal.tenantId, child(second, 'c').runId),
      {
        supervisorRunId: sup.id,
        incarnation: 2,
        childId: 'c',
      },
    );
    // The killed incarnation "completes" late (as a partitioned worker would), and wakes the supervisor.
    const journalBefore = await journalOf(h, sup.id);
    await h.store.run(
      "UPDATE orch_runs SET status = 'completed', output = '\"late\"', finished_at = ? WHERE id = ?",
      [Date.now(), staleRun],
    );
    await h.engine.wake(h.store, sup.id);
    await h.waitFor(sup.id, ['waiting']);
    await new Promise((r) => setTimeout(r, 200));
    const third = await treeUntil(h, sup.id, allWaiting(2));
    assert.deepEqual(
      third.children.map((c) => c.runId),
      second.children.map((c) => c.runId),
      'tree unchanged',
    );
    const journalAfter = await journalOf(h, sup.id);
    assert.equal(
      journalAfter.filter((j) => j.kind === 'child').length,
      journalBefore.filter((j) => j.kind === 'child').length,
    );
  });

  it('a nested supervisor exceeding its intensity stops its child and fails to the root', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const top = await h.engine.start('sup-test.root', {}, { principal: h.principal });
    const ready = (inc: number) => (t: TreeNode) =>
      t.children.length === 2 &&
      child(t, 'inner').children.some((x) => x.incarnation === inc && x.status === 'waiting');
    const t1 = await treeUntil(h, top.id, ready(1));
    const innerRun = child(t1, 'inner').runId;
    await h.engine.signal(h.principal.tenantId, child(child(t1, 'inner'), 'x').runId, 'finish', {
      mode: 'fail',
    });
    const t2 = await treeUntil(h, top.id, ready(2));
    await h.engine.signal(h.principal.tenantId, child(child(t2, 'inner'), 'x').runId, 'finish', {
      mode: 'fail',
    });
    const innerDone = await h.waitFor(innerRun, ['failed', 'completed']);
    assert.equal(innerDone.error?.code, 'E_SUPERVISOR_INTENSITY');
    const rootDone = await h.waitFor(top.id, ['failed', 'completed']);
    assert.equal(rootDone.status, 'failed');
    assert.equal(
      rootDone.error?.code,
      'E_SUPERVISOR_INTENSITY',
      'root intensity 0: the inner failure ends the root',
    );
    const final = await fleetTree(h.engine, h.principal.tenantId, top.id);
    assert.equal(child(final, 'peer').status, 'cancelled', 'the root stopped its other child');
    assert.equal(child(final, 'peer').incarnation, 1);
    const mine = events.filter((e) => e.supervisorRunId === innerRun || e.supervisorRunId === top.id);
    assert.deepEqual(
      mine.filter((e) => e.type === 'intensity_exceeded').map((e) => e.supervisorRunId),
      [innerRun, top.id],
      'the hook saw each supervisor give up once',
    );
  });

  it('auto_shutdown all_significant: the task group ends when its last significant child is done', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const group = await h.engine.start('sup-test.group', {}, { principal: h.principal });
    const tree = await treeUntil(h, group.id, allWaiting(1));
    const job1 = child(tree, 'job1').runId;
    await h.engine.signal(h.principal.tenantId, job1, 'finish', { mode: 'normal' });
    // The verdict once the group has taken job1's exit and settled, not after a fixed sleep.
    assert.equal(await settledAfterExit(h, group.id, job1), 'waiting', 'job2 still runs');
    await h.engine.signal(h.principal.tenantId, child(tree, 'job2').runId, 'finish', { mode: 'normal' });
    const done = await h.waitFor(group.id, ['completed', 'failed']);
    assert.deepEqual(done.output, { reason: 'auto_shutdown', childId: 'job2' });
    assert.equal(
      (await h.engine.get(h.principal.tenantId, child(tree, 'watcher').runId)).status,
      'cancelled',
    );
  });

  it('backs restarts off from the second one, and the breaker holds the third death for its cooldown', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const sup = await h.engine.start('sup-test.fragile', {}, { principal: h.principal });
    const fail = async (incarnation: number): Promise<TreeNode> => {
      const tree = await treeUntil(h, sup.id, allWaiting(incarnation));
      await h.engine.signal(h.principal.tenantId, child(tree, 'w').runId, 'finish', { mode: 'fail' });
      return tree;
    };
    await fail(1);
    await fail(2);
    const third = await treeUntil(h, sup.id, allWaiting(3));
    const thirdRun = child(third, 'w').runId;
    const created = (await h.engine.get(h.principal.tenantId, thirdRun)).createdAt;
    const [firstStep] = await journalOf(h, thirdRun);
    assert.ok((firstStep?.started_at ?? 0) - created >= 400, 'the second restart waited its backoff');
    await fail(3);
    const deadline = Date.now() + 5_000;
    while (!events.some((e) => e.supervisorRunId === sup.id && e.type === 'breaker_open')) {
      assert.ok(Date.now() < deadline, 'the breaker never opened');
      await new Promise((r) => setTimeout(r, 10));
    }
    const openedAt = Date.now();
    const held = await fleetTree(h.engine, h.principal.tenantId, sup.id);
    assert.deepEqual([child(held, 'w').incarnation, child(held, 'w').status], [3, 'failed'], 'restart held');
    await treeUntil(h, sup.id, allWaiting(4));
    assert.ok(Date.now() - openedAt >= 500, 'released after the cooldown, not before');
  });

  it('simple_one_for_one: a temporary child that ended is dropped, and its id added again is a new incarnation', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await setup(h);
    const sup = await h.engine.start(
      'sup-test.pool',
      { children: [{ id: 'x', input: { tag: 'x' } }] },
      { principal: h.principal },
    );
    const first = await treeUntil(h, sup.id, allWaiting(1));
    await h.engine.signal(h.principal.tenantId, child(first, 'x').runId, 'finish', { mode: 'fail' });
    await treeUntil(h, sup.id, (tree) => child(tree, 'x').status === 'failed');
    assert.equal(await settledAfterExit(h, sup.id, child(first, 'x').runId), 'waiting');
    assert.equal(
      child(await fleetTree(h.engine, h.principal.tenantId, sup.id), 'x').incarnation,
      1,
      'temporary: not restarted',
    );
    await h.engine.signal(h.principal.tenantId, sup.id, 'fleet.supervisor.start_child', {
      id: 'x',
      input: { tag: 'x' },
    });
    const again = await treeUntil(h, sup.id, allWaiting(2));
    assert.notEqual(child(again, 'x').runId, child(first, 'x').runId);
  });
});
