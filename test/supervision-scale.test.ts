// A simple_one_for_one supervisor holding 1,000 dynamic children, on SQLite and PostgreSQL: 500
// given at start and 500 added through the `fleet.supervisor.start_child` syscall; then one child
// fails and is restarted, which makes the supervisor replay its whole journal. Prints how long the
// replay-and-restart takes with 1,000 children, and checks the fence refuses the replaced run
// through the API (`fleet.fence` → E_STALE_INCARNATION).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { Suspension, WorkflowContext, type RunPort } from '../src/orchestration/context.ts';
import { defineWorkflow, type JournalRow } from '../src/orchestration/index.ts';
import {
  defineSupervisor,
  fleetSyscalls,
  fleetTree,
  type TreeNode,
} from '../src/orchestration/supervision/index.ts';
import { harness, type Harness } from '../src/orchestration/testing.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';

const CHILDREN = 1_000;

const member = defineWorkflow(
  { name: 'sup-scale.member', version: 1, input: z.object({ n: z.number() }), output: z.number() },
  async (ctx, input) => {
    const { mode } = await ctx.waitFor<{ mode: string }>('finish');
    if (mode === 'fail') throw new Error(`member ${input.n} failed`);
    return input.n;
  },
);

const pool = defineSupervisor({
  name: 'sup-scale.pool',
  version: 1,
  strategy: 'simple_one_for_one',
  intensity: 10,
  backoff: { baseMs: 0, maxMs: 0 },
  // Three failures within 30 s would open the default breaker (restarts held for 60 s).
  breaker: { deaths: 100 },
  childSpec: { workflow: member, restart: 'transient' },
});

async function treeUntil(h: Harness, runId: string, ready: (t: TreeNode) => boolean): Promise<TreeNode> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const tree = await fleetTree(h.engine, h.principal.tenantId, runId);
    if (ready(tree)) return tree;
    if (Date.now() > deadline) throw new Error(`tree not ready: ${tree.children.length} children`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Replays a run's journal in process, as a worker does after a wake-up, without the store: every
 * operation is answered from the journal until the pending wait at its end suspends the run.
 */
async function timeReplay(
  journal: readonly JournalRow[],
  input: unknown,
  runId: string,
  h: Harness,
): Promise<number> {
  const unreachable = (): never => {
    throw new Error('replay reached past the journal');
  };
  const port: RunPort = {
    runId,
    principal: h.principal,
    clock: h.engine.clock,
    signal: new AbortController().signal,
    journal: new Map(journal.map((row) => [row.seq, row])),
    record: unreachable,
    fenced: unreachable,
    consumeSignal: unreachable,
    startChild: unreachable,
    childRun: unreachable,
    syscall: unreachable,
    takeToken: unreachable,
    nextChildExit: () => Promise.resolve(undefined),
    cancelChild: unreachable,
  };
  const t0 = performance.now();
  await pool.run(new WorkflowContext(port), pool.input.parse(input)).catch((error: unknown) => {
    if (!(error instanceof Suspension)) throw error;
  });
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

onEveryStore('supervision at scale', (db) => {
  it(
    `a simple_one_for_one supervisor holds ${CHILDREN} dynamic children and replays fast`,
    { timeout: 300_000 },
    async (t) => {
      const h = await harness(db());
      t.after(() => h.close()); // also when an assertion fails, so the workers stop
      h.engine.register(member);
      h.engine.register(pool);
      for (const definition of fleetSyscalls(h.engine)) h.kernel.register(definition);
      await h.worker({ concurrency: 50 });
      const started = Date.now();
      const initial = Array.from({ length: CHILDREN / 2 }, (_, n) => ({ id: `m${n}`, input: { n } }));
      const sup = await h.engine.start('sup-scale.pool', { children: initial }, { principal: h.principal });
      for (let n = CHILDREN / 2; n < CHILDREN; n++)
        await h.kernel
          .call(
            'fleet.supervisor.start_child',
            { runId: sup.id, id: `m${n}`, input: { n } },
            { principal: h.principal },
          )
          .catch(async (error: unknown) => {
            const run = await h.engine.get(h.principal.tenantId, sup.id);
            throw new Error(
              `start_child ${n}: ${String(error)}; supervisor ${run.status} ${JSON.stringify(run.error)}`,
            );
          });
      const full = await treeUntil(
        h,
        sup.id,
        (t) =>
          t.status === 'waiting' &&
          t.children.length === CHILDREN &&
          t.children.every((c) => c.status === 'waiting'),
      );
      const upMs = Date.now() - started;
      const rows = await h.engine.journal(h.principal.tenantId, sup.id);
      const replays: number[] = [];
      for (let i = 0; i < 5; i++) replays.push(await timeReplay(rows, { children: initial }, sup.id, h));

      // Each failure wakes the supervisor, which replays its whole journal before restarting the child.
      const restartMs: number[] = [];
      for (const index of [10, 500, 990]) {
        const victim = full.children[index];
        assert.ok(victim);
        const t0 = Date.now();
        await h.engine.signal(h.principal.tenantId, victim.runId, 'finish', { mode: 'fail' });
        const after = await treeUntil(h, sup.id, (t) =>
          t.children.some(
            (c) => c.childId === victim.childId && c.incarnation === 2 && c.status === 'waiting',
          ),
        );
        restartMs.push(Date.now() - t0);
        assert.equal(after.children.length, CHILDREN);
        await assert.rejects(
          h.kernel.call('fleet.fence', { runId: victim.runId }, { principal: h.principal }),
          withCode('E_STALE_INCARNATION'),
        );
      }
      const tree = await h.kernel.call<{ trees: TreeNode[] }>(
        'fleet.tree',
        { runId: sup.id },
        { principal: h.principal },
      );
      assert.equal(tree.trees[0]?.children.length, CHILDREN);
      assert.equal(tree.trees[0]?.children.filter((c) => c.restarts === 1).length, 3);
      process.stdout.write(
        `# supervision scale (${db().dialect}): ${CHILDREN} children up in ${upMs} ms; journal ${rows.length} rows, ` +
          `replayed in process in ${median(replays).toFixed(1)} ms (median of 5); ` +
          `failure → replay of the journal → restart: median ${median(restartMs)} ms (${restartMs.join(', ')})\n`,
      );
    },
  );
});
