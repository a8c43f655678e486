// `fleet.snapshot` on SQLite and PostgreSQL over real runs executed by a real worker: completed and
// failed runs land in the last minute's per-second buckets, a supervised child counts as a waiting
// agent, runs on a queue no worker serves are the queue depth, a run blocked in a step is a lease
// of the live worker, a run leased by a worker that stopped heartbeating is an expired lease, a
// tenant budget shows the spend posted through the billing layer (and the same figure as
// `billing.budgets.get`), another tenant's runs are never counted, and a key without the grant is
// refused.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { silentLogger } from '../../kernel/index.ts';
import { Billing, parseMoney } from '../../provisioning/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { fleetSyscalls } from '../supervision/syscalls.ts';
import { defineSupervisor } from '../supervision/supervisor.ts';
import { harness } from '../testing.ts';
import type { FleetSnapshot } from './types.ts';

const empty = z.object({});
/** What the blocked run waits for; a new one per engine. */
let release: () => void = () => undefined;
let gate = Promise.resolve();

const task = defineWorkflow({ name: 'snap.task', version: 1, input: empty, output: z.string() }, (ctx) =>
  ctx.step('work', () => Promise.resolve('done')),
);
const broken = defineWorkflow(
  { name: 'snap.broken', version: 1, input: empty, output: z.string(), retry: { attempts: 1 } },
  () => Promise.reject(new Error('broken on purpose')),
);
const blocked = defineWorkflow(
  { name: 'snap.blocked', version: 1, input: empty, output: z.string() },
  (ctx) =>
    ctx.step('hold', async () => {
      await gate;
      return 'released';
    }),
);
const elsewhere = defineWorkflow(
  { name: 'snap.elsewhere', version: 1, input: empty, output: z.string(), queue: 'nobody' },
  () => Promise.resolve('never'),
);
const agent = defineWorkflow({ name: 'snap.agent', version: 1, input: empty, output: z.string() }, (ctx) =>
  ctx.waitFor<string>('finish'),
);
const supervisor = defineSupervisor({
  name: 'snap.sup',
  version: 1,
  strategy: 'one_for_one',
  children: [{ id: 'a1', workflow: agent, input: {} }],
});

onEveryStore('fleet snapshot', (db) => {
  it('counts runs, throughput, agents, queues, leases and budget spend of the tenant only', async (t) => {
    gate = new Promise<void>((r) => (release = r));
    const h = await harness(db());
    const billing = await Billing.open({ store: h.store, logger: silentLogger() });
    t.after(async () => {
      release();
      await billing.close();
      await h.close();
    });
    for (const def of [task, broken, blocked, elsewhere, agent]) h.engine.register(def);
    h.engine.register(supervisor);
    for (const def of fleetSyscalls(h.engine)) h.kernel.register(def);
    const worker = await h.worker({ concurrency: 10 });
    const principal = h.principal;
    const tenantId = principal.tenantId;
    const start = (name: string) => h.engine.start(name, {}, { principal });

    const done = await Promise.all([start(task.name), start(task.name), start(task.name)]);
    const failed = await start(broken.name);
    const held = await start(blocked.name);
    const queued = await Promise.all([start(elsewhere.name), start(elsewhere.name), start(elsewhere.name)]);
    const sup = await start(supervisor.name);
    for (const run of done) await h.waitFor(run.id, ['completed']);
    await h.waitFor(failed.id, ['failed']);
    await h.waitFor(held.id, ['running']);
    await h.waitFor(sup.id, ['waiting', 'running']);
    for (let i = 0; ; i++) {
      const children = await h.engine.list(tenantId, { parentId: sup.id });
      if (children[0]?.status === 'waiting') break;
      assert.ok(i < 500, 'the supervised agent never waited');
      await new Promise((r) => setTimeout(r, 20));
    }
    // A worker killed while holding a run: its lease ran out and nobody took it over yet.
    const orphan = queued[2];
    assert.ok(orphan);
    await h.store.run(
      `UPDATE orch_runs SET status = 'running', lease_owner = 'wrk_dead', lease_expires_at = ? WHERE id = ?`,
      [Date.now() - 5_000, orphan.id],
    );

    const budget = await billing.budgets.set({
      tenantId,
      scope: 'tenant',
      period: 'month',
      currency: 'USD',
      limit: parseMoney('10', 'USD').micros,
    });
    const call = { tenantId, principalId: principal.id, kind: 'model', syscall: 'models.generate' };
    const reservation = await billing.budgets.reserve(call, 2_000_000n);
    assert.ok(reservation);
    await billing.budgets.commit(tenantId, reservation, 1_250_000n);

    // Another tenant's runs are not ours to count.
    const other = await h.kernel.principals.createTenant(`other-${tenantId.slice(-8).toLowerCase()}`);
    const otherKey = await h.kernel.principals.createApiKey({
      tenantId: other.id,
      name: 'other',
      grants: [{ syscall: 'kernel.echo', resource: '*' }],
    });
    const outsider = await h.kernel.authenticate({ apiKey: otherKey.key });
    await h.engine.start(elsewhere.name, {}, { principal: outsider });

    const s = await h.kernel.call<FleetSnapshot>('fleet.snapshot', {}, { principal });
    assert.equal(s.tenantId, tenantId);
    assert.deepEqual(
      [s.runs.byStatus.completed, s.runs.byStatus.failed, s.runs.byStatus.queued, s.runs.byStatus.cancelled],
      [3, 1, 2, 0],
    );
    // Running or waiting: the blocked run, the orphan, the supervisor and its agent.
    assert.equal(s.runs.byStatus.running + s.runs.byStatus.waiting, 4);
    assert.equal(s.runs.total, 3 + 1 + 2 + 4);
    assert.deepEqual([s.throughput.completed, s.throughput.failed], [3, 1]);
    assert.equal(s.throughput.perSecond.length, 60);
    assert.equal(
      s.throughput.perSecond.reduce((n, b) => n + b.completed, 0),
      3,
    );
    assert.equal(s.throughput.completedPerSec, 3 / 60);
    assert.deepEqual(s.agents, {
      byState: { queued: 0, running: 0, waiting: 1, version_unavailable: 0 },
      total: 1,
    });
    assert.deepEqual(s.attention, { stalled: 0, budgetPaused: 0, truncated: false });
    assert.equal(s.queues.queued, 2);
    assert.deepEqual(
      s.queues.byWorkflow.map((q) => [q.workflow, q.queued]),
      [[elsewhere.name, 2]],
    );

    const live = s.workers.list.find((w) => w.id === worker.id);
    assert.ok(live?.live, JSON.stringify(s.workers));
    assert.ok(live.leases >= 1, 'the blocked run is leased by the live worker');
    assert.equal(live.expiredLeases, 0);
    const dead = s.workers.list.find((w) => w.id === 'wrk_dead');
    assert.deepEqual([dead?.live, dead?.leases, dead?.expiredLeases, dead?.seenAt], [false, 1, 1, null]);
    assert.equal(s.workers.expiredLeases, 1);
    assert.equal(s.workers.live, 1);

    assert.ok(s.cost);
    const listed = s.cost.budgets.find((b) => b.id === budget.id);
    const status = await billing.budgets.get(tenantId, budget.id);
    assert.deepEqual(
      [listed?.limit, listed?.spent, listed?.held, listed?.usedPct],
      ['10.00', '1.25', '0.00', 12.5],
    );
    assert.equal(status.spent, 1_250_000n);
    assert.deepEqual(s.cost.burn, [{ currency: 'USD', lastMinute: '1.25', lastMinuteMicros: 1_250_000 }]);
    assert.equal(s.chaos, undefined);

    const denied = await h.kernel.principals.createApiKey({
      tenantId,
      name: 'no-fleet',
      grants: [{ syscall: 'runs.get', resource: '*' }],
    });
    await assert.rejects(
      h.kernel.call('fleet.snapshot', {}, { principal: await h.kernel.authenticate({ apiKey: denied.key }) }),
      withCode('E_CAPABILITY_DENIED'),
    );
    release();
    await h.waitFor(held.id, ['completed']);
  });
});
