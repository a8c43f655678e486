// Cancelling a run that is running, at the moments a cancel stress run (cancel at random points, on
// both engines) found it lost or held for a long time: a cancel that meets the run's suspension
// must end it (before, on PostgreSQL, it could be lost and the run went on for good), and a run
// that suspends or is re-queued after a cancel was requested, before its worker's heartbeat saw
// the request, must end cancelled at once, not when its timer, a wake-up or its backoff comes;
// nor may it start a child then, which the cancel (already done with the tree) would leave running.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Store, Transaction } from '../kernel/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import type { Run } from './run-row.ts';
import { harness, type Harness } from './testing.ts';

/** Steps parked until the test lets them go: run id → release. */
const gates = new Map<string, () => void>();
const entered = new Map<string, () => void>();

/** Resolves once the run's `gate` step is executing; the step returns when {@link gates} is called. */
function gateOf(runId: string): Promise<void> {
  return new Promise((resolve) => entered.set(runId, resolve));
}

function gate(runId: string): Promise<void> {
  entered.get(runId)?.();
  return new Promise((resolve) => gates.set(runId, resolve));
}

const then = z.enum(['sleep', 'waitFor', 'fail', 'startChild']);

const forever = defineWorkflow(
  { name: 'cancel-races.forever', version: 1, input: z.object({}), output: z.null() },
  async (ctx) => {
    await ctx.waitFor('never');
    return null;
  },
);

const gated = defineWorkflow(
  {
    name: 'cancel-races.gated',
    version: 1,
    input: z.object({ then }),
    output: z.null(),
    // A failed attempt would be retried after 30–60 s.
    retry: { attempts: 3, baseDelayMs: 60_000 },
  },
  async (ctx, input) => {
    await ctx.step('gate', () => gate(ctx.runId));
    if (input.then === 'sleep') await ctx.sleep(3_600_000);
    if (input.then === 'waitFor') await ctx.waitFor('never');
    if (input.then === 'startChild') await (await ctx.startChild(forever, {})).result();
    if (input.then === 'fail')
      await ctx.step('fail', () => {
        throw new Error('a failure that would be retried');
      });
    return null;
  },
);

/** Resolves once some statement on this PostgreSQL database waits for a row lock. */
async function lockWaitSeen(store: Store): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const row = await store.get<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if ((row?.n ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error('the cancel never waited for the run row');
    await sleep(5);
  }
}

/** Marks a run claimed by a worker (none runs in these tests: the test plays its part). */
async function claimAsWorker(h: Harness, runId: string): Promise<void> {
  await h.store.run("UPDATE orch_runs SET status = 'running', lease_owner = 'wrk_test' WHERE id = ?", [
    runId,
  ]);
}

/**
 * Cancels `runId` while another writer's transaction (a worker's, played by the test) has done
 * `before` and not committed; once the cancel waits for it, the writer does `after` and commits.
 */
async function cancelDuring(
  h: Harness,
  runId: string,
  before: (tx: Transaction) => Promise<unknown>,
  after: (tx: Transaction) => Promise<unknown> = () => Promise.resolve(),
): Promise<Run> {
  let begun!: () => void;
  let proceed!: () => void;
  const ready = new Promise<void>((resolve) => (begun = resolve));
  const go = new Promise<void>((resolve) => (proceed = resolve));
  const writer = h.store.transaction(async (tx) => {
    await before(tx);
    begun();
    await go;
    await after(tx);
  });
  await ready;
  const cancelling = h.engine.cancel(h.principal.tenantId, runId);
  cancelling.catch(() => undefined); // awaited below, after the writer
  if (h.store.dialect === 'postgres') await lockWaitSeen(h.store);
  else await sleep(20);
  proceed();
  await writer;
  return cancelling;
}

onEveryStore('cancelling a running run', (db) => {
  it('a cancel that meets the run suspending ends the run (it is never lost)', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    h.engine.register(gated);
    const run = await h.engine.start('cancel-races.gated', { then: 'sleep' }, { principal: h.principal });
    await claimAsWorker(h, run.id);
    // The worker's suspension, uncommitted while the cancel starts: on PostgreSQL the cancel sees
    // the run running and waits for its row lock; on SQLite it waits for the write lock.
    await cancelDuring(h, run.id, (tx) =>
      tx.run("UPDATE orch_runs SET status = 'waiting', lease_owner = NULL, available_at = ? WHERE id = ?", [
        Date.now() + 3_600_000,
        run.id,
      ]),
    );
    const after = await h.engine.get(h.principal.tenantId, run.id);
    assert.equal(after.status, 'cancelled');
    assert.equal(after.error?.code, 'E_CANCELLED');
  });

  it('a cancel that deadlocks with a child ending (which wakes its parent) is retried, not failed', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    h.engine.register(gated);
    const parent = await h.engine.start('cancel-races.gated', { then: 'sleep' }, { principal: h.principal });
    const child = await h.engine.start(
      'cancel-races.gated',
      { then: 'sleep' },
      { principal: h.principal, parentId: parent.id, rootId: parent.id },
    );
    await claimAsWorker(h, parent.id);
    await claimAsWorker(h, child.id);
    // The child's worker ends it, then wakes its parent (child row, then parent row); the cancel
    // locks the parent, then its children. On PostgreSQL the cancel, waiting first, is the one
    // the deadlock detector aborts after a second.
    const cancelled = await cancelDuring(
      h,
      parent.id,
      async (tx) => {
        // PostgreSQL aborts whichever waiter's deadlock_timeout (1 s) fires first, once the cycle
        // exists: the cancel waits a few milliseconds earlier, a margin a loaded 2-core machine
        // can reverse (seen in CI: the worker's side was aborted). The worker's side checks late.
        if (tx.dialect === 'postgres') await tx.run("SET LOCAL deadlock_timeout = '60s'");
        await tx.run("UPDATE orch_runs SET status = 'failed', lease_owner = NULL WHERE id = ?", [child.id]);
      },
      (tx) => h.engine.wake(tx, parent.id),
    );
    assert.equal(cancelled.status, 'running');
    assert.equal(cancelled.cancelRequested, true);
    assert.equal((await h.engine.get(h.principal.tenantId, child.id)).status, 'failed');
  });

  for (const next of then.options) {
    it(`a run cancelled in a step, that then goes on to ${next}, ends cancelled at once`, async (t) => {
      const h = await harness(db());
      t.after(() => h.close());
      h.engine.register(gated);
      h.engine.register(forever);
      // Its heartbeat (every 10 s) never comes in this test: the cancel must not depend on it.
      await h.worker({ leaseMs: 30_000 });
      const run = await h.engine.start('cancel-races.gated', { then: next }, { principal: h.principal });
      await gateOf(run.id);
      const cancelledAt = Date.now();
      const flagged = await h.engine.cancel(h.principal.tenantId, run.id);
      assert.equal(flagged.status, 'running');
      gates.get(run.id)?.();
      const ended = await h.waitFor(run.id, ['cancelled', 'completed', 'failed'], 5_000);
      assert.equal(ended.status, 'cancelled');
      assert.equal(ended.error?.code, 'E_CANCELLED');
      assert.ok(Date.now() - cancelledAt < 5_000);
      const tree = await h.store.all<{ status: string }>('SELECT status FROM orch_runs WHERE root_id = ?', [
        run.id,
      ]);
      assert.deepEqual(
        tree.map((r) => r.status),
        ['cancelled'],
      );
    });
  }
});
