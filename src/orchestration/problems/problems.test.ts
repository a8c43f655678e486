/**
 * The "needs you" list on SQLite and PostgreSQL, each item made for real: a run waiting on an
 * approval, a run tree paused on its exhausted budget (the kernel's budget hook and the billing
 * ledger), a run hung in a step and found by the stall sweep, a supervisor whose mass-death
 * breaker opened on a crashing child, an escalation raised by hand, and a run parked
 * `version_unavailable` after the only worker with its version left. The list holds exactly those,
 * one item each (the pause's approval and escalation and the stall's escalation are folded in);
 * another tenant's items never appear; deciding the approval removes it; kinds filter; the syscall
 * is capability-checked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import {
  defineSyscall,
  erase,
  Kernel,
  silentLogger,
  systemClock,
  type Principal,
  type Store,
} from '../../kernel/index.ts';
import { Billing, billingSyscalls } from '../../provisioning/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openFleetAlerts, type FleetAlerts } from '../approvals/open.ts';
import { BudgetPauses } from '../budget-pause/budget-pauses.ts';
import { budgetPauseSyscalls } from '../budget-pause/syscalls.ts';
import { defineWorkflow } from '../define.ts';
import { Engine } from '../engine.ts';
import { defineSupervisor } from '../supervision/supervisor.ts';
import { fleetSyscalls } from '../supervision/syscalls.ts';
import { Worker } from '../worker.ts';
import type { Problems } from './types.ts';

const masterKey = randomBytes(32);

const spend = defineSyscall({
  name: 'test.spend',
  description: 'costs 0.10',
  input: z.object({}).strict(),
  output: z.object({ ok: z.boolean() }),
  idempotency: 'unsafe',
  resource: () => 'test',
  estimateCost: () => 100_000,
  actualCost: () => 100_000,
  handler: () => ({ ok: true }),
});

const ask = defineWorkflow(
  { name: 'np.ask', version: 1, input: z.object({}), output: z.boolean() },
  async (ctx) =>
    (await ctx.approve({ question: 'ship the release?', timeoutMs: 3_600_000, onTimeout: 'escalate' }))
      .approved,
);
/** Waits for `go` (the test sets its tree's budget first), then makes two paid calls. */
const spender = defineWorkflow(
  { name: 'np.spender', version: 1, input: z.object({}), output: z.null() },
  async (ctx) => {
    await ctx.waitFor('go');
    for (let i = 0; i < 2; i++) await ctx.syscall('test.spend', {});
    return null;
  },
);
/** Hangs in its step (its worker keeps renewing the lease) until the test ends. */
const hung = new Set<() => void>();
const hang = defineWorkflow(
  { name: 'np.hang', version: 1, input: z.object({}), output: z.null(), stall: { afterMs: 300 } },
  async (ctx) => {
    await ctx.step('work', () => new Promise<void>((resolve) => hung.add(resolve)));
    return null;
  },
);
const crasher = defineWorkflow(
  { name: 'np.crasher', version: 1, input: z.object({}), output: z.null() },
  async (ctx) => {
    await ctx.step('crash', () => {
      throw new Error('crashed');
    });
    return null;
  },
);
/** Two deaths open the breaker for ten minutes: its children stay held. */
const supervisor = defineSupervisor({
  name: 'np.sup',
  version: 1,
  strategy: 'one_for_one',
  intensity: 1_000,
  periodMs: 60_000,
  backoff: { baseMs: 0, maxMs: 0 },
  breaker: { deaths: 2, windowMs: 60_000, cooldownMs: 600_000 },
  children: [{ id: 'c', workflow: crasher, input: {} }],
});
const order = (version: number) =>
  defineWorkflow({ name: 'np.order', version, input: z.object({}), output: z.null() }, async (ctx) => {
    await ctx.waitFor('go');
    return null;
  });

onEveryStore('needs-you list', (db) => {
  let store: Store;
  let engine: Engine;
  let kernel: Kernel;
  let alerts: FleetAlerts;
  let worker: Worker;
  let admin: Principal;
  let other: Principal;

  const principal = async (tenantId: string, grants = [{ syscall: '*', resource: '*' }]) => {
    const { key } = await kernel.principals.createApiKey({ tenantId, name: 'k', grants });
    return kernel.authenticate({ apiKey: key });
  };
  const call = <T>(name: string, input: unknown, p: Principal = admin): Promise<T> =>
    kernel.call<T>(name, input, { principal: p });
  const problems = (p: Principal = admin, input: unknown = {}) => call<Problems>('fleet.problems', input, p);
  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const status = (id: string, p = admin) => engine.get(p.tenantId, id).then((r) => r.status);

  before(async () => {
    store = await db().open();
    engine = await Engine.open({ store });
    const billing = await Billing.open({ store });
    kernel = await Kernel.open({ store, masterKey, meter: engine.meterHook, budget: billing.budgetHook });
    engine.attachKernel(kernel);
    for (const d of billingSyscalls(billing)) kernel.register(d);
    kernel.register(erase(spend));
    for (const d of fleetSyscalls(engine)) kernel.register(d);
    // Sweeps run when the test asks (the dead-letter sweep would add an item per crashed child).
    alerts = await openFleetAlerts({
      store,
      kernel,
      engine,
      masterKey,
      clock: systemClock,
      logger: silentLogger(),
      sweepIntervalMs: 3_600_000,
      stalls: { sweepMs: 3_600_000 },
    });
    const pauses = await BudgetPauses.open({
      store,
      engine,
      raiser: { raiseTo: async (t, b, limit) => void (await billing.budgets.raiseTo(t, b, limit)) },
    });
    for (const d of budgetPauseSyscalls(pauses)) kernel.register(d);
    engine.register(ask);
    engine.register(spender);
    engine.register(hang);
    engine.register(crasher);
    engine.register(supervisor);
    engine.register(order(2));
    const name = `np${randomBytes(3).toString('hex')}`;
    admin = await principal((await kernel.principals.createTenant(name)).id);
    other = await principal((await kernel.principals.createTenant(`${name}x`)).id);
    worker = new Worker(engine, { pollMs: 20, leaseMs: 1_500, concurrency: 20, deploymentTtlMs: 300 });
    await worker.start();
  });

  after(async () => {
    for (const release of hung) release();
    await worker?.stop();
    await alerts?.close();
    await kernel?.close();
  });

  it('lists one item per thing that waits on a person, only the tenant’s, until it is done', async () => {
    // A run parked version_unavailable: v1 runs on a second engine whose worker then leaves.
    const v1Store = await db().open();
    const v1 = await Engine.open({ store: v1Store });
    v1.register(order(1));
    const v1Worker = new Worker(v1, { pollMs: 20, leaseMs: 1_500, deploymentTtlMs: 300 });
    await v1Worker.start();
    const parked = await v1.start('np.order', {}, { principal: admin });
    await until('the v1 run to wait', async () => ((await status(parked.id)) === 'waiting' ? 1 : undefined));
    await v1Worker.stop();
    await v1Store.close();

    const asking = await engine.start('np.ask', {}, { principal: admin });
    const spending = await engine.start('np.spender', {}, { principal: admin });
    await call('billing.budgets.set', {
      scope: 'tree',
      subject: spending.id,
      period: 'lifetime',
      limit: '0.10',
    });
    await engine.signal(admin.tenantId, spending.id, 'go', null);
    const stuck = await engine.start('np.hang', {}, { principal: admin });
    const sup = await engine.start('np.sup', {}, { principal: admin });
    const disk = await call<{ id: string }>('escalations.raise', {
      key: 'disk',
      severity: 'P2',
      title: 'disk 90% full',
      source: 'ops',
    });
    // Another tenant's approval and escalation.
    await engine.start('np.ask', {}, { principal: other });
    await call('escalations.raise', { key: 'x', severity: 'P0', title: 'not yours', source: 'ops' }, other);

    await until('the stall', async () => ((await alerts.stalls.sweep()).length > 0 ? true : undefined));
    await until('the parked run', async () =>
      (await status(parked.id)) === 'version_unavailable' ? 1 : undefined,
    );
    const list = await until('every item', async () => {
      const found = await problems();
      return found.count >= 6 &&
        found.items.find((i) => i.kind === 'budget_pause')?.action.syscall === 'approvals.decide'
        ? found
        : undefined;
    });
    assert.equal(list.count, list.items.length);
    assert.deepEqual(list.truncated, []);
    const byKind = new Map(list.items.map((i) => [i.kind, i]));
    assert.deepEqual(
      list.items.map((i) => i.kind).sort(),
      ['approval', 'budget_pause', 'escalation', 'stalled_run', 'supervisor', 'version_unavailable'],
      JSON.stringify(list.items, null, 1),
    );
    const approval = byKind.get('approval');
    assert.equal(approval?.runId, asking.id);
    assert.equal(approval?.action.syscall, 'approvals.decide');
    assert.match(approval?.reason ?? '', /ship the release\? \(escalates in 60m\)/);
    assert.ok((approval?.timeLeftMs ?? 0) > 3_500_000 && (approval?.timeLeftMs ?? 0) <= 3_600_000);
    assert.match(
      byKind.get('budget_pause')?.reason ?? '',
      /lifetime tree budget exhausted \(0\.1\d* \w+\) at test\.spend; 1 run\(s\) paused/,
    );
    assert.equal(byKind.get('stalled_run')?.runId, stuck.id);
    assert.deepEqual(byKind.get('stalled_run')?.action, {
      syscall: 'runs.cancel',
      input: { runId: stuck.id },
    });
    assert.equal(byKind.get('supervisor')?.runId, sup.id);
    assert.match(byKind.get('supervisor')?.reason ?? '', /mass-death breaker of supervisor np\.sup opened/);
    assert.deepEqual([byKind.get('escalation')?.id, byKind.get('escalation')?.severity], [disk.id, 'P2']);
    assert.equal(byKind.get('version_unavailable')?.runId, parked.id);
    assert.ok(list.items.every((i, n) => n === 0 || (list.items[n - 1]?.since ?? 0) <= i.since));
    assert.ok(list.items.every((i) => i.ageMs >= 0));

    const theirs = await problems(other);
    assert.deepEqual(theirs.items.map((i) => i.kind).sort(), ['approval', 'escalation']);
    assert.equal((await problems(admin, { kinds: ['approval'] })).count, 1);

    await call('approvals.decide', { id: approval?.id, decision: 'approve', reason: 'go' });
    await until('the approved run', async () => ((await status(asking.id)) === 'completed' ? 1 : undefined));
    const after = await problems();
    assert.equal(after.count, 5);
    assert.ok(!after.items.some((i) => i.kind === 'approval'));

    const reader = await principal(admin.tenantId, [{ syscall: 'fleet.problems', resource: 'problems' }]);
    assert.equal((await problems(reader)).count, 5);
    const runsOnly = await principal(admin.tenantId, [{ syscall: 'runs.*', resource: '*' }]);
    await assert.rejects(problems(runsOnly), withCode('E_CAPABILITY_DENIED'));
    await assert.rejects(problems(admin, { kinds: ['nope'] }), withCode('E_INVALID_INPUT'));
  });
});
