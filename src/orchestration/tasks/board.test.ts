// The task board on SQLite and PostgreSQL, with real workers: 100 runs claim one task at once and
// exactly one holds it; only the live holder may complete or release; an execution whose lease was
// taken over (a zombie) is refused with E_STALE_INCARNATION, its dead claim may be taken by another
// run, and the resumed run then learns it lost the task; the takeover shows in the fleet report.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { withExecution } from '../execution-scope.ts';
import { fleetReport } from '../fleet-report.ts';
import { harness, type Harness } from '../testing.ts';
import type { Task } from './board.ts';
import { taskSyscalls } from './syscalls.ts';

/** Claims a task, then holds it until told to finish (so every holder stays alive during the race). */
const claimer = defineWorkflow(
  { name: 'tasks-test.claimer', version: 1, input: z.object({ taskId: z.string() }), output: z.boolean() },
  async (ctx, input) => {
    const { claimed } = await ctx.syscall<{ claimed: boolean }>('fleet.task.claim', { taskId: input.taskId });
    const { action } = await ctx.waitFor<{ action: 'complete' | 'release' | 'none' }>('finish');
    if (claimed && action !== 'none')
      await ctx.syscall(`fleet.task.${action}`, {
        taskId: input.taskId,
        ...(action === 'complete' ? { result: 42 } : {}),
      });
    return claimed;
  },
);

// The first execution of `block` hangs (its worker's lease runs out meanwhile); the next one passes.
const gates = new Map<string, { calls: number; release: () => void; hung: Promise<void> }>();
function gate(runId: string): { calls: number; release: () => void; hung: Promise<void> } {
  let g = gates.get(runId);
  if (!g) {
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    g = { calls: 0, release, hung };
    gates.set(runId, g);
  }
  return g;
}

const sleeper = defineWorkflow(
  { name: 'tasks-test.sleeper', version: 1, input: z.object({ taskId: z.string() }), output: z.string() },
  async (ctx, input) => {
    await ctx.syscall('fleet.task.claim', { taskId: input.taskId });
    await ctx.step('block', () => {
      const g = gate(ctx.runId);
      return g.calls++ === 0 ? g.hung : Promise.resolve();
    });
    await ctx.waitFor('go');
    try {
      await ctx.syscall('fleet.task.complete', { taskId: input.taskId });
      return 'completed';
    } catch (error) {
      return (error as { code?: string }).code ?? 'unknown';
    }
  },
);

async function setup(db: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(db);
  for (const def of taskSyscalls(h.engine)) h.kernel.register(def);
  h.engine.register(claimer);
  h.engine.register(sleeper);
  return h;
}

const call = <T>(h: Harness, name: string, input: unknown, runId?: string): Promise<T> =>
  h.kernel.call<T>(name, input, { principal: h.principal, ...(runId ? { runId } : {}) });

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

onEveryStore('task board', (db) => {
  it(
    '100 concurrent claims of one task: exactly one holder; only it completes',
    { timeout: 120_000 },
    async (t) => {
      const h = await setup(db());
      t.after(() => h.close());
      const task = await call<Task>(h, 'fleet.task.create', { title: 'fix the build', payload: { pr: 7 } });
      const ids = await h.engine.startMany(
        'tasks-test.claimer',
        Array.from({ length: 100 }, () => ({ taskId: task.id })),
        {
          principal: h.principal,
        },
      );
      await h.worker({ concurrency: 100 });
      await Promise.all(ids.map((id) => h.waitFor(id, ['waiting'], 60_000)));
      const held = await call<Task>(h, 'fleet.task.get', { taskId: task.id });
      assert.equal(held.status, 'claimed');
      assert.equal(held.claims, 1, 'one claim won');
      const holder = held.holder?.runId ?? '';
      assert.ok(ids.includes(holder));

      // A non-holder cannot complete it; a call from outside a run is refused; nothing changed.
      const other = ids.find((id) => id !== holder) ?? '';
      await assert.rejects(
        call(h, 'fleet.task.complete', { taskId: task.id }, other),
        withCode('E_CONFLICT'),
      );
      await assert.rejects(call(h, 'fleet.task.claim', { taskId: task.id }), withCode('E_INVALID_INPUT'));
      await assert.rejects(
        call(h, 'fleet.task.claim', { taskId: 'task_missing' }, other),
        withCode('E_NOT_FOUND'),
      );
      await assert.rejects(call(h, 'fleet.task.create', { title: '' }), withCode('E_INVALID_INPUT'));
      assert.deepEqual(await call<Task>(h, 'fleet.task.get', { taskId: task.id }), held);

      for (const id of ids) await h.engine.signal(h.principal.tenantId, id, 'finish', { action: 'complete' });
      const outputs = await Promise.all(ids.map((id) => h.waitFor(id, ['completed'], 60_000)));
      assert.equal(outputs.filter((r) => r.output === true).length, 1, 'exactly one run claimed it');
      const done = await call<Task>(h, 'fleet.task.get', { taskId: task.id });
      assert.equal(done.status, 'completed');
      assert.equal(done.result, 42);
      assert.equal(done.holder?.runId, holder);
      const { tasks } = await call<{ tasks: Task[] }>(h, 'fleet.task.list', { status: 'completed' });
      assert.deepEqual(
        tasks.map((x) => x.id),
        [task.id],
      );
    },
  );

  it('a released task is claimed again; a cancelled holder loses it', { timeout: 60_000 }, async (t) => {
    const h = await setup(db());
    t.after(() => h.close());
    await h.worker();
    const task = await call<Task>(h, 'fleet.task.create', { title: 'triage', key: 'triage-1' });
    assert.equal((await call<Task>(h, 'fleet.task.create', { title: 'again', key: 'triage-1' })).id, task.id);
    const start = async () => {
      const run = await h.engine.start('tasks-test.claimer', { taskId: task.id }, { principal: h.principal });
      await h.waitFor(run.id, ['waiting']);
      return run.id;
    };
    const a = await start();
    await h.engine.signal(h.principal.tenantId, a, 'finish', { action: 'release' });
    assert.equal((await h.waitFor(a, ['completed'])).output, true);
    assert.equal((await call<Task>(h, 'fleet.task.get', { taskId: task.id })).status, 'open');
    const b = await start();
    await h.engine.cancel(h.principal.tenantId, b);
    const c = await start();
    const taken = await call<Task>(h, 'fleet.task.get', { taskId: task.id });
    assert.deepEqual([taken.holder?.runId, taken.claims], [c, 3]);
  });

  it(
    'a taken-over execution is refused; its dead claim goes to another run',
    { timeout: 60_000 },
    async (t) => {
      const h = await setup(db());
      t.after(async () => {
        for (const g of gates.values()) g.release();
        await h.close();
      });
      const task = await call<Task>(h, 'fleet.task.create', { title: 'deploy' });
      // Worker A renews nothing: its lease on the run runs out while the run hangs in `block`.
      const a = await h.worker({ leaseMs: 300, heartbeatMs: 60_000, concurrency: 1 });
      const run = await h.engine.start('tasks-test.sleeper', { taskId: task.id }, { principal: h.principal });
      await until('the claim under A', () => Promise.resolve(gate(run.id).calls === 1 ? true : undefined));
      assert.equal((await call<Task>(h, 'fleet.task.get', { taskId: task.id })).holder?.incarnation, 1);
      await h.worker({ leaseMs: 5_000 });
      await h.waitFor(run.id, ['waiting'], 20_000); // resumed under B, past `block`, waiting for `go`

      // A late completion from A's execution (as if A were partitioned, not dead) is refused.
      await assert.rejects(
        withExecution({ runId: run.id, workerId: a.id }, () =>
          call(h, 'fleet.task.complete', { taskId: task.id }, run.id),
        ),
        withCode('E_STALE_INCARNATION'),
      );
      // The claim died with incarnation 1: another run takes the task.
      const other = await h.engine.start(
        'tasks-test.claimer',
        { taskId: task.id },
        { principal: h.principal },
      );
      await h.waitFor(other.id, ['waiting']);
      const taken = await call<Task>(h, 'fleet.task.get', { taskId: task.id });
      assert.deepEqual([taken.holder?.runId, taken.claims], [other.id, 2]);
      // The resumed run (incarnation 2) learns it lost the task.
      await h.engine.signal(h.principal.tenantId, run.id, 'go', {});
      assert.equal((await h.waitFor(run.id, ['completed'])).output, 'E_STALE_INCARNATION');

      const report = await fleetReport(h.store, h.principal.tenantId);
      assert.equal(report.deaths.detected, 1);
      assert.ok((report.deaths.detectionLatencyMs?.p95 ?? -1) >= 0);
      assert.ok(report.deaths.heartbeatToResumeMs !== null, 'the resumed run made a step');
    },
  );
});
