// Stall detection on real durable runs, on SQLite and PostgreSQL, with short thresholds: a run
// hung in a step while its worker keeps renewing the lease is recorded once as a stall and
// escalated (P1, one item per run); a run that keeps journaling steps is never flagged; a run whose
// worker died (lease expired) is not a stall; the restart policy fences the stuck execution out and
// the run resumes by replay and completes, on the same attempt.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { Escalations } from '../escalations/escalations.ts';
import { harness, type Harness } from '../testing.ts';
import { StallWatch } from './stalls.ts';

/** Hung steps wait here until the test lets them go. */
const hung = new Set<() => void>();
let hangCalls = 0;
const releaseAll = (): void => {
  for (const release of hung) release();
  hung.clear();
};

/** Hangs in its step on the first call of each test, returns at once afterwards. */
const hangOnce = (policy: 'escalate' | 'restart') =>
  defineWorkflow(
    {
      name: `stall-test.${policy}`,
      version: 1,
      input: z.object({}),
      output: z.string(),
      stall: { afterMs: 300, policy },
    },
    async (ctx) => {
      await ctx.step('work', async () => {
        if (++hangCalls === 1) await new Promise<void>((resolve) => hung.add(resolve));
      });
      return 'done';
    },
  );

const escalating = hangOnce('escalate');
const restarting = hangOnce('restart');

const busy = defineWorkflow(
  { name: 'stall-test.busy', version: 1, input: z.object({}), output: z.number(), stall: { afterMs: 300 } },
  async (ctx) => {
    let n = 0;
    for (; n < 12; n++) await ctx.step(`tick-${n}`, () => new Promise((r) => setTimeout(r, 80)));
    return n;
  },
);

/** Never claimed here (no worker serves its queue): the test sets its row as a dead worker leaves it. */
const orphan = defineWorkflow(
  { name: 'stall-test.orphan', version: 1, input: z.object({}), output: z.null(), queue: 'nobody' },
  () => Promise.resolve(null),
);

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setup(h: Harness): Promise<{ watch: StallWatch; escalations: Escalations }> {
  hangCalls = 0;
  h.engine.register(escalating);
  h.engine.register(restarting);
  h.engine.register(busy);
  h.engine.register(orphan);
  const watch = await StallWatch.open({ engine: h.engine, afterMs: 300 });
  await h.worker({ leaseMs: 1_500 });
  return { watch, escalations: await Escalations.open({ store: h.store }) };
}

onEveryStore('stall detection', (db) => {
  it('a run hung in a step with a live lease is one stall, escalated once as P1', async (t) => {
    const h = await harness(db());
    t.after(async () => {
      releaseAll();
      await h.close();
    });
    const { watch, escalations } = await setup(h);
    const run = await h.engine.start('stall-test.escalate', {}, { principal: h.principal });
    await h.waitFor(run.id, ['running']);
    assert.deepEqual(await watch.sweep(), [], 'not stalled before its threshold');
    await pause(700);
    const found = await watch.sweep();
    assert.deepEqual(
      found.map((s) => [s.runId, s.policy, s.attempt]),
      [[run.id, 'escalate', 1]],
    );
    await pause(400);
    assert.deepEqual(await watch.sweep(), [], 'the same stall is not recorded twice');
    assert.equal((await watch.list(h.principal.tenantId)).length, 1);
    const items = await escalations.list(h.principal.tenantId);
    assert.deepEqual(
      items.map((e) => [e.severity, e.key, e.count, e.source]),
      [['P1', `run-stalled:${run.id}`, 1, 'stalls']],
    );
    assert.equal((await h.engine.get(h.principal.tenantId, run.id)).status, 'running', 'left running');
    releaseAll();
    await h.waitFor(run.id, ['completed']);
  });

  it('a run that keeps making progress is never flagged', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { watch } = await setup(h);
    const run = await h.engine.start('stall-test.busy', {}, { principal: h.principal });
    let ended = false;
    const done = h.waitFor(run.id, ['completed']).finally(() => (ended = true));
    let sweeps = 0;
    while (!ended) {
      assert.deepEqual(await watch.sweep(), []);
      sweeps++;
      await pause(60);
    }
    await done;
    assert.ok(sweeps >= 10, `swept ${sweeps} times while it ran`);
    assert.deepEqual(await watch.list(h.principal.tenantId), []);
  });

  it('a dead worker (lease expired) is not a stall; the same row with a live lease is', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { watch } = await setup(h);
    const run = await h.engine.start('stall-test.orphan', {}, { principal: h.principal });
    const now = Date.now();
    await h.store.run(
      "UPDATE orch_runs SET status = 'running', lease_owner = 'wrk_dead', lease_expires_at = ?, updated_at = ? WHERE id = ?",
      [now - 1, now - 60_000, run.id],
    );
    assert.deepEqual(await watch.sweep(), [], 'an expired lease is a death, not a stall');
    await h.store.run('UPDATE orch_runs SET lease_expires_at = ? WHERE id = ?', [now + 60_000, run.id]);
    assert.deepEqual(
      (await watch.sweep()).map((s) => s.runId),
      [run.id],
    );
  });

  it('restart: the stuck execution is fenced out and the run resumes by replay on the same attempt', async (t) => {
    const h = await harness(db());
    t.after(async () => {
      releaseAll();
      await h.close();
    });
    const { watch } = await setup(h);
    const run = await h.engine.start('stall-test.restart', {}, { principal: h.principal });
    await h.waitFor(run.id, ['running']);
    await pause(700);
    assert.deepEqual(
      (await watch.sweep()).map((s) => [s.runId, s.policy]),
      [[run.id, 'restart']],
    );
    const fenced = await h.store.get<{ lease_owner: string }>(
      'SELECT lease_owner FROM orch_runs WHERE id = ?',
      [run.id],
    );
    assert.match(fenced?.lease_owner ?? '', /^stalled:/);
    releaseAll(); // the old execution wakes up late: its journal write is refused by the fence
    const ended = await h.waitFor(run.id, ['completed'], 10_000);
    assert.equal(ended.output, 'done');
    assert.equal(ended.attempt, 1, 'a stall is not a failed attempt');
    assert.equal(hangCalls, 2, 'the step ran again on replay, since the stuck call never journaled');
  });
});
