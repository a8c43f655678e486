// Fleet must-show on PostgreSQL: 50 agents spawned at once (50 concurrent
// `fleet.supervisor.start_child` calls) under a simple_one_for_one supervisor while 5 siblings are
// already running steps. No child crashes or restarts, every incarnation stays 1, and the running
// siblings' step progress keeps advancing during the burst (their steps per second are printed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { defineWorkflow } from '../src/orchestration/index.ts';
import {
  defineSupervisor,
  fleetSyscalls,
  fleetTree,
  type TreeNode,
} from '../src/orchestration/supervision/index.ts';
import { harness, type Harness } from '../src/orchestration/testing.ts';
import { freshDatabase } from '../src/testkit/stores.ts';

let stopSiblings = false;

/** A long-running sibling steps until told to stop; a burst agent makes two steps and waits. */
const agent = defineWorkflow(
  {
    name: 'burst.agent',
    version: 1,
    input: z.object({ kind: z.enum(['sibling', 'burst']) }),
    output: z.number(),
  },
  async (ctx, input) => {
    for (let i = 0; ; i++) {
      await ctx.transaction(`progress-${i}`, (tx) =>
        tx.run('INSERT INTO burst_progress (run_id, step, at) VALUES (?, ?, ?)', [ctx.runId, i, Date.now()]),
      );
      const stop = await ctx.step(`pause-${i}`, async () => {
        await delay(30);
        return input.kind === 'burst' ? i >= 1 : stopSiblings;
      });
      if (stop) break;
    }
    await ctx.waitFor('finish');
    return 0;
  },
);

const pool = defineSupervisor({
  name: 'burst.pool',
  version: 1,
  strategy: 'simple_one_for_one',
  backoff: { baseMs: 0, maxMs: 0 },
  childSpec: { workflow: agent, restart: 'permanent' },
});

let db: Awaited<ReturnType<typeof freshDatabase>>;
let h: Harness;

before(async () => {
  db = await freshDatabase('postgres');
  h = await harness(db);
  h.engine.register(agent);
  h.engine.register(pool);
  for (const def of fleetSyscalls(h.engine)) h.kernel.register(def);
  await h.store.run(
    'CREATE TABLE burst_progress (run_id TEXT NOT NULL, step INTEGER NOT NULL, at BIGINT NOT NULL)',
  );
  await h.worker({ concurrency: 100 });
});

after(async () => {
  stopSiblings = true;
  await h?.close();
  await db?.drop();
});

async function treeUntil(runId: string, ready: (t: TreeNode) => boolean): Promise<TreeNode> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const tree = await fleetTree(h.engine, h.principal.tenantId, runId);
    if (ready(tree)) return tree;
    if (Date.now() > deadline) throw new Error(`tree not ready: ${JSON.stringify(tree).slice(0, 2000)}`);
    await delay(25);
  }
}

const progress = async (runIds: readonly string[]): Promise<Map<string, number>> => {
  const rows = await h.store.all<{ run_id: string; n: number | string }>(
    `SELECT run_id, COUNT(*) AS n FROM burst_progress WHERE run_id IN (${runIds.map(() => '?').join(', ')}) GROUP BY run_id`,
    runIds,
  );
  return new Map(rows.map((r) => [r.run_id, Number(r.n)]));
};

test(
  '50 agents spawned at once beside 5 running siblings: no crash, siblings undisturbed',
  { timeout: 120_000 },
  async () => {
    const siblings = Array.from({ length: 5 }, (_, n) => ({ id: `s${n}`, input: { kind: 'sibling' } }));
    const sup = await h.engine.start('burst.pool', { children: siblings }, { principal: h.principal });
    const before5 = await treeUntil(
      sup.id,
      (t) => t.children.length === 5 && t.children.every((c) => c.status === 'running'),
    );
    const siblingRuns = before5.children.map((c) => c.runId);
    await delay(500); // siblings under way
    const atBurst = await progress(siblingRuns);
    const burstAt = Date.now();

    await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        h.kernel.call(
          'fleet.supervisor.start_child',
          { runId: sup.id, id: `b${n}`, input: { kind: 'burst' } },
          { principal: h.principal },
        ),
      ),
    );
    const full = await treeUntil(
      sup.id,
      (t) =>
        t.children.length === 55 &&
        t.children.filter((c) => c.childId?.startsWith('b')).every((c) => c.status === 'waiting'),
    );
    const burstMs = Date.now() - burstAt;
    const afterBurst = await progress(siblingRuns);

    // Siblings kept stepping through the burst: each made progress, at a rate printed for the record.
    const steps = siblingRuns.map((id) => (afterBurst.get(id) ?? 0) - (atBurst.get(id) ?? 0));
    process.stdout.write(
      `# spawn burst: 50 agents up in ${burstMs} ms; sibling steps during it ${JSON.stringify(steps)} (${(Math.min(...steps) / (burstMs / 1000)).toFixed(1)}/s slowest)\n`,
    );
    for (const [i, n] of steps.entries())
      assert.ok(n >= 2, `sibling ${i} advanced during the burst (${n} steps)`);
    // No gap in any sibling's steps: none restarted from scratch, none repeated.
    const gaps = await h.store.all<{
      run_id: string;
      n: number | string;
      distinct_steps: number | string;
      top: number | string;
    }>(
      `SELECT run_id, COUNT(*) AS n, COUNT(DISTINCT step) AS distinct_steps, MAX(step) AS top FROM burst_progress GROUP BY run_id`,
    );
    for (const g of gaps) {
      assert.equal(Number(g.n), Number(g.distinct_steps), `no step repeated in ${g.run_id}`);
      assert.equal(Number(g.top) + 1, Number(g.n), `no step skipped in ${g.run_id}`);
    }

    // 0 crashes, 0 restarts, incarnations unchanged (same runs as before the burst).
    assert.equal(full.status, 'waiting');
    assert.ok(full.children.every((c) => c.incarnation === 1 && !c.error));
    assert.deepEqual(
      full.children.filter((c) => c.childId?.startsWith('s')).map((c) => c.runId),
      siblingRuns,
    );
    const failed = await h.store.get<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM orch_runs WHERE tenant_id = ? AND status IN ('failed', 'cancelled')",
      [h.principal.tenantId],
    );
    assert.equal(Number(failed?.n), 0);
  },
);
