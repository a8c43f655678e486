// A run's audit on both engines, with a real engine and worker: the syscalls a durable run makes
// are audited with its id and its root's (a child's with its parent's root), once each although the
// run replays; the calls that start and steer a run from outside (start, signal, cancel, retry)
// carry that run's id; reads of a run do not; and kernel.audit.list reads them back by run and tree.
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { z } from 'zod';
import type { AuditEntry } from '../kernel/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { runSyscalls } from './syscalls.ts';
import { harness, type Harness } from './testing.ts';

const child = defineWorkflow(
  { name: 'audited.child', version: 1, input: z.object({}), output: z.string() },
  async (ctx) =>
    (await ctx.syscall<{ message: string }>('kernel.echo', { message: 'from the child' })).message,
);

const parent = defineWorkflow(
  { name: 'audited.parent', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    await ctx.syscall('kernel.echo', { message: 'from the parent' });
    const handle = await ctx.startChild(child, {});
    const said = await handle.result(); // suspends: the parent replays its echo from the journal
    return { said, go: await ctx.waitFor('go') };
  },
);

const gate = defineWorkflow(
  { name: 'audited.gate', version: 1, input: z.object({}), output: z.unknown() },
  (ctx) => ctx.waitFor('open'),
);

async function setup(t: TestContext, db: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(db);
  t.after(() => h.close());
  for (const def of runSyscalls(h.engine)) h.kernel.register(def);
  for (const def of [parent, child, gate]) h.engine.register(def);
  await h.worker();
  return h;
}

onEveryStore('a run’s audit entries', (db) => {
  it('records the syscalls of a run and its child with their run and root, once each', async (t) => {
    const h = await setup(t, db());
    const call = <T>(name: string, input: unknown) =>
      h.kernel.call<T>(name, input, { principal: h.principal });
    const list = async (filter: Record<string, unknown>): Promise<AuditEntry[]> =>
      (await call<{ entries: AuditEntry[] }>('kernel.audit.list', { ...filter, limit: 1000 })).entries;

    const run = await call<{ id: string }>('runs.start', { workflow: 'audited.parent', input: {} });
    const childId = await (async () => {
      for (let i = 0; i < 500; i++) {
        const [found] = await h.engine.list(h.principal.tenantId, { parentId: run.id, limit: 1 });
        if (found?.status === 'completed') return found.id;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the child never completed');
    })();
    await h.waitFor(run.id, ['waiting']);
    await call('runs.get', { runId: run.id }); // a read: not in the run's audit
    await call('runs.signal', { runId: run.id, name: 'go', payload: 1 });
    await h.waitFor(run.id, ['completed']);
    await h.kernel.audit.flush();

    const own = await list({ runId: run.id });
    assert.deepEqual(
      own.map((e) => [e.action, e.outcome, e.principalId, e.rootRunId]),
      [
        ['runs.start', 'ok', h.principal.id, run.id],
        ['kernel.echo', 'ok', h.principal.id, run.id],
        ['runs.signal', 'ok', h.principal.id, run.id],
      ],
    );
    assert.deepEqual((own[1]?.detail as { input: unknown }).input, { message: 'from the parent' });
    const ofChild = await list({ runId: childId });
    assert.deepEqual(
      ofChild.map((e) => [e.action, e.runId, e.rootRunId]),
      [['kernel.echo', childId, run.id]],
    );
    const tree = await list({ rootRunId: run.id });
    assert.deepEqual(
      tree.map((e) => e.seq),
      [...own, ...ofChild].map((e) => e.seq).sort((a, b) => a - b),
    );
    assert.equal((await h.kernel.audit.verify(h.principal.tenantId)).ok, true);
  });

  it('tags cancel and retry from outside with the run, refused ones included', async (t) => {
    const h = await setup(t, db());
    const call = <T>(name: string, input: unknown) =>
      h.kernel.call<T>(name, input, { principal: h.principal });
    const run = await call<{ id: string }>('runs.start', { workflow: 'audited.gate', input: {} });
    await h.waitFor(run.id, ['waiting']);
    await call('runs.cancel', { runId: run.id });
    await assert.rejects(call('runs.cancel', { runId: run.id }), /E_CONFLICT|already/);
    await call('runs.retry', { runId: run.id });
    await h.kernel.audit.flush();
    const { entries } = await call<{ entries: AuditEntry[] }>('kernel.audit.list', { runId: run.id });
    assert.deepEqual(
      entries.map((e) => [e.action, e.outcome, e.errorCode, e.rootRunId ?? null]),
      [
        ['runs.start', 'ok', null, run.id],
        ['runs.cancel', 'ok', null, run.id],
        ['runs.cancel', 'error', 'E_CONFLICT', null], // refused: only the input named the run
        ['runs.retry', 'ok', null, run.id],
      ],
    );
  });
});
