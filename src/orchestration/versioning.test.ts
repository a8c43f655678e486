// Versioning of durable runs on both engines: v2 deployed with reordered steps while v1 runs wait
// on a timer or a signal. With v1 still deployed they finish on v1 code; with v1 removed they park
// as version_unavailable without running a step of v2, and resume on v1 when it is registered again.
// ctx.patched: a run started before the patch keeps the old branch across replays, a new run takes
// the new one. Orphans of a dead v1 worker park after their lease; a fresh run gets a grace period.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { harness, type Harness } from './testing.ts';

const effects: string[] = [];
const ran = (prefix: string): string[] => effects.filter((e) => e.startsWith(prefix));

const orderInput = z.object({ key: z.string(), sleepMs: z.number().optional() });

/** v1: reserve, wait (signal or timer), charge. */
const orderV1 = defineWorkflow(
  { name: 'order', version: 1, input: orderInput, output: z.string() },
  async (ctx, input) => {
    await ctx.step('reserve', () => effects.push(`${input.key}:v1:reserve`));
    if (input.sleepMs === undefined) await ctx.waitFor('go');
    else await ctx.sleep(input.sleepMs);
    await ctx.step('charge', () => effects.push(`${input.key}:v1:charge`));
    return 'v1';
  },
);

/** v2: the same steps reordered (charge first): replaying a v1 journal on it would be wrong. */
const orderV2 = defineWorkflow(
  { name: 'order', version: 2, input: orderInput, output: z.string() },
  async (ctx, input) => {
    await ctx.step('charge', () => effects.push(`${input.key}:v2:charge`));
    await ctx.step('reserve', () => effects.push(`${input.key}:v2:reserve`));
    if (input.sleepMs === undefined) await ctx.waitFor('go');
    else await ctx.sleep(input.sleepMs);
    return 'v2';
  },
);

const FAST = { deploymentTtlMs: 300 } as const;

onEveryStore('versioning', (db) => {
  /**
   * v1 runs in flight: one waiting on a signal, one on a timer. The timer is long (2 s) so that even
   * on a loaded machine the run is seen waiting on it, not already completed (200 ms was not).
   */
  async function v1InFlight(
    tenant: string,
    tag: string,
    sleepMs = 2_000,
  ): Promise<{ h: Harness; signalled: string; timed: string }> {
    const h = await harness(db(), tenant);
    h.engine.register(orderV1);
    await h.worker(FAST);
    const signalled = await h.engine.start('order', { key: `${tag}-sig` }, { principal: h.principal });
    const timed = await h.engine.start('order', { key: `${tag}-tmr`, sleepMs }, { principal: h.principal });
    await h.waitFor(signalled.id, ['waiting']);
    await h.waitFor(timed.id, ['waiting']);
    return { h, signalled: signalled.id, timed: timed.id };
  }

  it('v1 runs finish on v1 code while v1 is still deployed next to v2', async () => {
    const tenant = `v-${randomBytes(3).toString('hex')}`;
    const tag = `${db().dialect}-both`;
    const { h: v1, signalled, timed } = await v1InFlight(tenant, tag);
    const v2 = await harness(db(), tenant);
    v2.engine.register(orderV2);
    await v2.worker(FAST);
    const fresh = await v2.engine.start('order', { key: `${tag}-new` }, { principal: v2.principal });
    assert.equal(fresh.version, 2);
    await v2.engine.signal(v2.principal.tenantId, signalled, 'go', {});
    await v2.engine.signal(v2.principal.tenantId, fresh.id, 'go', {});
    assert.equal((await v2.waitFor(signalled, ['completed'])).output, 'v1');
    assert.equal((await v2.waitFor(timed, ['completed'])).output, 'v1');
    assert.equal((await v2.waitFor(fresh.id, ['completed'])).output, 'v2');
    assert.deepEqual(ran(`${tag}-sig`), [`${tag}-sig:v1:reserve`, `${tag}-sig:v1:charge`]);
    assert.deepEqual(ran(`${tag}-tmr`), [`${tag}-tmr:v1:reserve`, `${tag}-tmr:v1:charge`]);
    assert.deepEqual(ran(`${tag}-new`), [`${tag}-new:v2:charge`, `${tag}-new:v2:reserve`]);
    await v1.close();
    await v2.close();
  });

  it('v1 runs park as version_unavailable when v1 is removed, and resume when it is back', async () => {
    const tenant = `v-${randomBytes(3).toString('hex')}`;
    const tag = `${db().dialect}-gone`;
    const { h: v1, signalled, timed } = await v1InFlight(tenant, tag);
    const journalBefore = await v1.engine.journal(v1.principal.tenantId, signalled);
    const timerDue = Math.max(
      ...(await v1.engine.journal(v1.principal.tenantId, timed)).map((j) => Number(j.wake_at ?? 0)),
    );
    await v1.close(); // v1 is deployed nowhere now
    const v2 = await harness(db(), tenant);
    v2.engine.register(orderV2);
    await v2.worker(FAST);
    for (const id of [signalled, timed]) {
      const parked = await v2.waitFor(id, ['version_unavailable']);
      assert.equal(parked.version, 1);
      assert.equal(parked.error?.code, 'E_VERSION_UNAVAILABLE');
      assert.match(parked.error?.message ?? '', /no live worker has the code/);
    }
    // A signal is kept for later; the timer comes due; neither makes v2 replay a v1 journal.
    await v2.engine.signal(v2.principal.tenantId, signalled, 'go', {});
    // Until the timer has been due for a while (several worker polls), not a guessed fixed time.
    await new Promise((r) => setTimeout(r, Math.max(0, timerDue - Date.now()) + 400));
    for (const id of [signalled, timed])
      assert.equal((await v2.engine.get(v2.principal.tenantId, id)).status, 'version_unavailable');
    assert.deepEqual(ran(`${tag}-sig:v2`), []);
    assert.deepEqual(ran(`${tag}-tmr:v2`), []);
    assert.deepEqual(await v2.engine.journal(v2.principal.tenantId, signalled), journalBefore);

    const back = await harness(db(), tenant);
    back.engine.register(orderV1);
    await back.worker(FAST);
    assert.equal((await back.waitFor(signalled, ['completed'])).output, 'v1');
    assert.equal((await back.waitFor(timed, ['completed'])).output, 'v1');
    assert.deepEqual(ran(`${tag}-sig`), [`${tag}-sig:v1:reserve`, `${tag}-sig:v1:charge`]);
    assert.deepEqual(ran(`${tag}-tmr`), [`${tag}-tmr:v1:reserve`, `${tag}-tmr:v1:charge`]);
    await v2.close();
    await back.close();
  });

  it('an orphan of a dead v1 worker parks once its lease expires, and a v2 worker never claims it', async () => {
    const tenant = `o-${randomBytes(3).toString('hex')}`;
    const tag = `${db().dialect}-orphan`;
    const h = await harness(db(), tenant);
    h.engine.register(orderV1); // registered here to start the run; this engine runs no worker
    const run = await h.engine.start('order', { key: tag }, { principal: h.principal });
    const v2 = await harness(db(), tenant); // opened before the lease is set: it can take long under load
    v2.engine.register(orderV2);
    // What a v1 worker killed mid-run leaves behind: running, under a lease about to expire.
    const expiresAt = Date.now() + 2_000;
    await h.store.run(
      "UPDATE orch_runs SET status = 'running', lease_owner = 'wrk_dead', lease_expires_at = ? WHERE id = ?",
      [expiresAt, run.id],
    );
    await v2.worker(FAST);
    // Every status read that ended before the lease expired shows the run still running (no fixed
    // sleep: how many reads fit before expiry depends on the load, their verdict does not).
    let readsWhileLive = 0;
    for (;;) {
      const { status } = await v2.engine.get(v2.principal.tenantId, run.id);
      if (Date.now() >= expiresAt) break;
      assert.equal(status, 'running', 'parked while its lease was live');
      readsWhileLive++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(readsWhileLive > 0, 'no status read fitted in the lease (2 s)');
    const parked = await v2.waitFor(run.id, ['version_unavailable']);
    assert.ok(Date.now() >= expiresAt);
    assert.equal(parked.leaseOwner, null);
    assert.deepEqual(ran(tag), []);
    // A parked run can still be cancelled; it then stays cancelled whatever is deployed.
    assert.equal((await v2.engine.cancel(v2.principal.tenantId, run.id)).status, 'cancelled');
    await h.close();
    await v2.close();
  });

  it('a fresh run gets a grace period; registering its version on a running worker resumes it', async () => {
    const tenant = `g-${randomBytes(3).toString('hex')}`;
    const tag = `${db().dialect}-grace`;
    const starter = await harness(db(), tenant); // an API process: it has v1, runs no worker
    starter.engine.register(orderV1);
    const v2 = await harness(db(), tenant);
    v2.engine.register(orderV2);
    const ttlMs = 1_500; // long enough for status reads to fit in it on a loaded machine
    await v2.worker({ deploymentTtlMs: ttlMs });
    const run = await starter.engine.start(
      'order',
      { key: tag, sleepMs: 1 },
      { principal: starter.principal },
    );
    // Every status read that ended within the TTL of the run's start shows it still queued.
    let readsInGrace = 0;
    for (;;) {
      const { status } = await v2.engine.get(v2.principal.tenantId, run.id);
      if (Date.now() >= run.createdAt + ttlMs) break;
      assert.equal(status, 'queued', 'parked within its grace period');
      readsInGrace++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(readsInGrace > 0, `no status read fitted in the ${ttlMs} ms grace period`);
    await v2.waitFor(run.id, ['version_unavailable']);
    v2.engine.register(orderV1); // the running worker gets v1 and announces it
    assert.equal((await v2.waitFor(run.id, ['completed'], 2_000)).output, 'v1');
    assert.deepEqual(ran(tag), [`${tag}:v1:reserve`, `${tag}:v1:charge`]);
    await starter.close();
    await v2.close();
  });

  it('ctx.patched: a run started before the patch keeps the old branch across replays', async () => {
    const tenant = `p-${randomBytes(3).toString('hex')}`;
    const tag = `${db().dialect}-patch`;
    const spec = { name: 'patchy', version: 1, input: z.object({ key: z.string() }), output: z.boolean() };
    const before = defineWorkflow(spec, async (ctx, input) => {
      await ctx.step('a', () => effects.push(`${input.key}:a`));
      await ctx.waitFor('go');
      await ctx.sleep(1);
      await ctx.step('b', () => effects.push(`${input.key}:b`));
      return false;
    });
    const patched = defineWorkflow(spec, async (ctx, input) => {
      await ctx.step('a', () => effects.push(`${input.key}:a`));
      const fixed = await ctx.patched('extra-check');
      if (fixed) await ctx.step('extra', () => effects.push(`${input.key}:extra`));
      await ctx.waitFor('go');
      await ctx.sleep(1);
      // Asked again after replays: the same answer.
      assert.equal(await ctx.patched('extra-check'), fixed);
      await ctx.step('b', () => effects.push(`${input.key}:b`));
      return fixed;
    });
    const first = await harness(db(), tenant);
    first.engine.register(before);
    await first.worker(FAST);
    const old = await first.engine.start('patchy', { key: `${tag}-old` }, { principal: first.principal });
    await first.waitFor(old.id, ['waiting']);
    await first.close();

    const second = await harness(db(), tenant); // the same version, redeployed with the patch
    second.engine.register(patched);
    await second.worker(FAST);
    const fresh = await second.engine.start('patchy', { key: `${tag}-new` }, { principal: second.principal });
    await second.waitFor(fresh.id, ['waiting']);
    await second.engine.wake(second.store, old.id); // a replay of the old run while it still waits
    // Not a fixed sleep: wait until a worker has claimed the wake (wake_pending cleared) and the run
    // has settled, then it must be waiting again (the replay took the same branch, so no failure).
    const deadline = Date.now() + 15_000;
    for (;;) {
      const row = await second.store.get<{ status: string; wake_pending: number | string }>(
        'SELECT status, wake_pending FROM orch_runs WHERE id = ?',
        [old.id],
      );
      if (Number(row?.wake_pending) === 0 && row?.status !== 'running' && row?.status !== 'queued') {
        assert.equal(row?.status, 'waiting');
        break;
      }
      assert.ok(Date.now() < deadline, `the woken run never settled (${JSON.stringify(row)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of [old.id, fresh.id]) await second.engine.signal(second.principal.tenantId, id, 'go', {});
    assert.equal((await second.waitFor(old.id, ['completed'])).output, false);
    assert.equal((await second.waitFor(fresh.id, ['completed'])).output, true);
    assert.deepEqual(ran(`${tag}-old`), [`${tag}-old:a`, `${tag}-old:b`]);
    assert.deepEqual(ran(`${tag}-new`), [`${tag}-new:a`, `${tag}-new:extra`, `${tag}-new:b`]);
    const kinds = async (id: string): Promise<string[]> =>
      (await second.engine.journal(second.principal.tenantId, id)).map((r) => `${r.kind}:${r.name}`);
    assert.deepEqual(await kinds(old.id), ['step:a', 'signal:go', 'sleep:sleep', 'step:b']);
    assert.deepEqual(await kinds(fresh.id), [
      'step:a',
      'patch:extra-check',
      'step:extra',
      'signal:go',
      'sleep:sleep',
      'step:b',
    ]);
    await second.close();
  });
});
