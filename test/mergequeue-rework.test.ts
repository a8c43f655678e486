/**
 * Rework tasks on SQLite and PostgreSQL, over a real git repository, checks in bubblewrap
 * sandboxes, real durable runs and mail to an SMTP sink on loopback: a conflict gives its person
 * author exactly one task (with the conflicting file) and one mail, however often the event is
 * fired again or the process restarts; an entry sent to rework while no hook was wired (a crash
 * between the move and the start) gets its task at the next start; a dependency that will not
 * merge gives its agent author a task and a run of the agent that claims it with its scoped grants;
 * a person known by no address still gets the task; a rework run started by anyone but the queue,
 * or with bad input, is refused and creates nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import { openSandboxes, type SandboxManager } from '../src/compute/index.ts';
import { Mail, memoryResolver, smtpSink } from '../src/identity/index.ts';
import { MergeQueues, sandboxRunner, type EntryRow, type ReworkEvent } from '../src/mergequeue/index.ts';
import { mailReworkNotifier } from '../src/mergequeue/rework-mail.ts';
import { REWORK_WORKFLOW, ReworkTasks, type ReworkOutcome } from '../src/mergequeue/rework.ts';
import { defineWorkflow, Engine, fleetSyscalls, runSyscalls } from '../src/orchestration/index.ts';
import { TaskBoard, type Task } from '../src/orchestration/tasks/index.ts';
import { harness, type Harness } from '../src/orchestration/testing.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, type Fixture } from './mergequeue-fixture.ts';

/** An agent: claims the task its rework prompt names, through its own scoped grants. */
const fixer = defineWorkflow(
  { name: 'fixer', version: 1, input: z.object({ prompt: z.string() }).strict(), output: z.boolean() },
  async (ctx, input) => {
    const taskId = /task (task_\S+) \(/.exec(input.prompt)?.[1] ?? '';
    const { claimed } = await ctx.syscall<{ claimed: boolean }>('fleet.task.claim', { taskId });
    return claimed;
  },
);

onEveryStore('merge queue rework tasks', (db) => {
  let fx: Fixture;
  let h: Harness;
  let queues: MergeQueues;
  let reworks: ReworkTasks;
  let sandboxes: SandboxManager;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let tenantId: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-rework-'));

  before(async () => {
    fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo ok\n', 'shared.txt': 'one\n' });
    sink = await smtpSink();
    h = await harness(db(), 'rework');
    tenantId = h.principal.tenantId;
    for (const d of [...fleetSyscalls(h.engine), ...runSyscalls(h.engine)]) h.kernel.register(d);
    const mail = await Mail.open({
      store: h.store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    await mail.createMailbox({ tenant: tenantId, agent: 'queue', address: 'queue@strata.example' });
    h.engine.register(fixer);
    reworks = new ReworkTasks({
      engine: h.engine,
      agents: (tenant) => h.kernel.principals.listAgents(tenant),
      notifier: mailReworkNotifier(mail, () => Promise.resolve('queue@strata.example')),
    });
    sandboxes = await openSandboxes({ dataDir });
    queues = await openQueues(true);
    await queues.configure(tenantId, {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'sh check.sh', timeoutMs: 20_000, runtimes: ['sh'] },
    });
    await h.worker();
  });
  after(async () => {
    await queues.close();
    await h.close();
    await sandboxes.close();
    await sink.close();
    fx.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const openQueues = (hooked: boolean) =>
    MergeQueues.open({
      store: h.store,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
      ...(hooked ? { onRework: (event: ReworkEvent) => reworks.deliver(event).then(() => undefined) } : {}),
    });
  const submit = (q: MergeQueues, branch: string, author: string, dependsOn?: string[]) =>
    q.submit(tenantId, { queue: 'app', branch, author, ...(dependsOn ? { dependsOn } : {}) });
  /** Two branches changing `file`, by `first` then `second`: the second conflicts (returned). */
  const conflict = async (q: MergeQueues, file: string, first: string, second: string) => {
    const name = file.replace('.txt', '');
    fx.branch(`${name}-1`, { [file]: 'two\n' });
    fx.branch(`${name}-2`, { [file]: 'three\n' });
    await submit(q, `${name}-1`, first);
    const entry = await submit(q, `${name}-2`, second);
    await q.idle(tenantId, 'app');
    assert.equal((await q.rows.entry(tenantId, entry.id)).state, 'needs_rework');
    return entry;
  };
  /** The entry's rework run, finished. */
  const outcome = async (entry: string): Promise<ReworkOutcome> => {
    const run = await reworks.deliver({ tenantId, entry });
    const done = await h.waitFor(run.id, ['completed', 'failed'], 20_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return done.output as ReworkOutcome;
  };
  const tasksOf = async (entry: string): Promise<Task[]> =>
    (await new TaskBoard(h.engine).list(tenantId, { limit: 1000 })).filter(
      (t) => (t.payload as { entry?: string }).entry === entry,
    );
  const mailsTo = (address: string) => sink.received.filter((m) => m.rcptTo.includes(address)).length;

  it('a conflict: one task with the conflicting file and one mail to the person, however often fired', async () => {
    const second = await conflict(queues, 'shared.txt', 'bob@example.com', 'alice@example.com');
    const first = await outcome(second.id);
    assert.deepEqual(
      [first.authorKind, first.notified, first.agentRun],
      ['person', true, null],
      first.note ?? '',
    );
    // Fired again, reconciled, and a restarted process (new engine, new queues) reconciling.
    await outcome(second.id);
    assert.equal(await reworks.reconcile(), 0);
    const store2 = await db().open();
    const engine2 = await Engine.open({ store: store2 });
    assert.equal(await new ReworkTasks({ engine: engine2 }).reconcile(), 0);
    await store2.close();
    const tasks = await tasksOf(second.id);
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]?.id, first.taskId);
    assert.deepEqual(tasks[0]?.payload, {
      kind: 'mergequeue.rework',
      queue: 'app',
      entry: second.id,
      author: 'alice@example.com',
      authorKind: 'person',
      branch: 'shared-2',
      headCommit: second.headCommit,
      reason: (await queues.rows.entry(tenantId, second.id)).reason,
      files: ['shared.txt'],
    });
    assert.equal(mailsTo('alice@example.com'), 1);
    const text = sink.received.find((m) => m.rcptTo.includes('alice@example.com'))?.raw.toString() ?? '';
    assert.match(text, /Rework needed: shared-2 in merge queue app/);
    assert.match(text, /shared\.txt/);
    assert.equal(mailsTo('bob@example.com'), 0);
  });

  it('an entry sent to rework while no hook ran gets its task at the next start, once', async () => {
    const unhooked = await openQueues(false); // a process that died before it could start the run
    const lost = await conflict(unhooked, 'lost.txt', 'dave@example.com', 'erin@example.com');
    await unhooked.close();
    assert.equal((await tasksOf(lost.id)).length, 0);
    assert.equal(await reworks.reconcile(), 1);
    assert.equal(await reworks.reconcile(), 0);
    const done = await outcome(lost.id);
    assert.equal(done.notified, true);
    const [task] = await tasksOf(lost.id);
    assert.deepEqual((task?.payload as { files: string[] }).files, ['lost.txt']);
    assert.equal(mailsTo('erin@example.com'), 1);
  });

  it('a dependency that will not merge: a task for the agent author, and its run claims it', async () => {
    await queues.close(); // the process above took the queue over: a fresh one, like a restart
    queues = await openQueues(true);
    fx.branch('broken', { BROKEN: 'yes\n' });
    fx.branch('on-broken', { 'feature.txt': 'f\n' }, 'broken');
    const broken = await submit(queues, 'broken', 'frank@example.com');
    await queues.idle(tenantId, 'app');
    assert.equal((await queues.rows.entry(tenantId, broken.id)).state, 'rejected');
    const dependent: EntryRow = await submit(queues, 'on-broken', 'fixer', [broken.id]);
    assert.equal((await queues.rows.entry(tenantId, dependent.id)).state, 'needs_rework');
    const done = await outcome(dependent.id);
    assert.deepEqual([done.authorKind, done.notified], ['agent', false]);
    assert.ok(done.agentRun, done.note ?? '');
    const agentRun = await h.waitFor(done.agentRun, ['completed', 'failed'], 20_000);
    assert.equal(agentRun.output, true, JSON.stringify(agentRun.error));
    const [task, ...more] = await tasksOf(dependent.id);
    assert.equal(more.length, 0);
    assert.deepEqual([task?.status, task?.holder?.runId], ['claimed', done.agentRun]);
    assert.match((task?.payload as { reason: string }).reason, new RegExp(`depends on ${broken.id}`));
    assert.equal((await outcome(dependent.id)).agentRun, done.agentRun); // fired again: same run
  });

  it('a person known by no address still gets the task; the run says why no mail left', async () => {
    const plain = await conflict(queues, 'plain.txt', 'gina@example.com', 'carol');
    const done = await outcome(plain.id);
    assert.deepEqual([done.authorKind, done.notified], ['person', false]);
    assert.match(done.note ?? '', /E_MAIL_ADDRESS_INVALID/);
    assert.equal((await tasksOf(plain.id)).length, 1);
  });

  it('a rework run started by anyone but the queue, or with bad input, is refused and creates nothing', async () => {
    const tasks = (await new TaskBoard(h.engine).list(tenantId, { limit: 1000 })).length;
    const [entry] = await queues.list(tenantId, 'app', ['needs_rework']);
    const forged = await h.kernel.call<{ id: string }>(
      'runs.start',
      { workflow: REWORK_WORKFLOW, input: { entry: entry?.id } },
      { principal: h.principal },
    );
    const run = await h.waitFor(forged.id, ['completed', 'failed'], 20_000);
    assert.equal(run.error?.code, 'E_CAPABILITY_DENIED');
    await assert.rejects(
      h.engine.start(REWORK_WORKFLOW, { entry: '' }, { principal: h.principal }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(reworks.deliver({ tenantId, entry: '' }), withCode('E_INVALID_INPUT'));
    assert.equal((await new TaskBoard(h.engine).list(tenantId, { limit: 1000 })).length, tasks);
  });
});
