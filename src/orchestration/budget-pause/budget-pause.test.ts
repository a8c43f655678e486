/**
 * Budget exhaustion pauses runs instead of failing them, on both engines, through the kernel's
 * real budget hook (the billing ledger's reservations): a run tree over its `tree` budget pauses
 * with one escalation and one approval however many runs hit it, reserved + spent never exceed the
 * limit, an approved raise resumes every paused run (each call made once), a rejection fails them
 * with E_BUDGET_EXCEEDED, `onBudgetExhausted: 'fail'` fails at once, and bad input changes nothing.
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
import { defineWorkflow } from '../define.ts';
import { Engine } from '../engine.ts';
import { Worker } from '../worker.ts';
import { openFleetAlerts, type FleetAlerts } from '../approvals/open.ts';
import { BudgetPauses } from './budget-pauses.ts';
import { budgetPauseSyscalls } from './syscalls.ts';

const masterKey = randomBytes(32);
const CENTS_10 = 100_000;

/** A paid call: reserves 0.10 and costs 0.10; counts each execution by its idempotency key. */
const executions = new Map<string, number>();
const spend = defineSyscall({
  name: 'test.spend',
  description: 'costs 0.10',
  input: z.object({}).strict(),
  output: z.object({ ok: z.boolean() }),
  idempotency: 'unsafe',
  resource: () => 'test',
  estimateCost: () => CENTS_10,
  actualCost: () => CENTS_10,
  handler: (_input, ctx) => {
    const key = ctx.idempotencyKey ?? 'none';
    executions.set(key, (executions.get(key) ?? 0) + 1);
    return { ok: true };
  },
});

const worker = defineWorkflow(
  { name: 'bp.worker', version: 1, input: z.object({ calls: z.number() }), output: z.number() },
  async (ctx, input) => {
    for (let i = 0; i < input.calls; i++) await ctx.syscall('test.spend', {});
    return input.calls;
  },
);
const strict = defineWorkflow(
  {
    name: 'bp.strict',
    version: 1,
    input: z.object({ calls: z.number() }),
    output: z.number(),
    onBudgetExhausted: 'fail',
  },
  async (ctx, input) => {
    for (let i = 0; i < input.calls; i++) await ctx.syscall('test.spend', {});
    return input.calls;
  },
);
/** Waits for `go` (so the test can set the tree's budget first), then runs `children` workers. */
const root = defineWorkflow(
  {
    name: 'bp.root',
    version: 1,
    input: z.object({ children: z.number(), calls: z.number() }),
    output: z.number(),
  },
  async (ctx, input) => {
    await ctx.waitFor('go');
    const handles = [];
    for (let i = 0; i < input.children; i++)
      handles.push(await ctx.startChild(worker, { calls: input.calls }));
    let total = 0;
    for (const handle of handles) total += await handle.result();
    return total;
  },
);

onEveryStore('budget pauses', (db) => {
  let store: Store;
  let engine: Engine;
  let kernel: Kernel;
  let billing: Billing;
  let alerts: FleetAlerts;
  let pauses: BudgetPauses;
  let principal: Principal;
  let w: Worker;

  before(async () => {
    store = await db().open();
    engine = await Engine.open({ store });
    billing = await Billing.open({ store });
    kernel = await Kernel.open({ store, masterKey, meter: engine.meterHook, budget: billing.budgetHook });
    engine.attachKernel(kernel);
    for (const d of billingSyscalls(billing)) kernel.register(d);
    kernel.register(erase(spend));
    alerts = await openFleetAlerts({
      store,
      kernel,
      engine,
      masterKey,
      clock: systemClock,
      logger: silentLogger(),
    });
    pauses = await BudgetPauses.open({
      store,
      engine,
      raiser: { raiseTo: async (t, b, limit) => void (await billing.budgets.raiseTo(t, b, limit)) },
    });
    for (const d of budgetPauseSyscalls(pauses)) kernel.register(d);
    engine.register(worker);
    engine.register(strict);
    engine.register(root);
    const tenant = await kernel.principals.createTenant(`bp${randomBytes(3).toString('hex')}`);
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'ops',
      grants: [{ syscall: '*', resource: '*' }],
    });
    principal = await kernel.authenticate({ apiKey: key });
    w = new Worker(engine, { pollMs: 20, leaseMs: 3_000, concurrency: 20 });
    await w.start();
  });

  after(async () => {
    await w?.stop();
    await alerts?.close();
    await kernel?.close();
  });

  const call = <T>(name: string, input: unknown): Promise<T> => kernel.call<T>(name, input, { principal });
  const tenant = (): string => principal.tenantId;

  async function until<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    ms = 20_000,
    state: () => Promise<unknown> = () => Promise.resolve(null),
  ): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; state: ${JSON.stringify(await state(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function treeOverBudget(children: number, calls: number, limit: string) {
    const run = await engine.start('bp.root', { children, calls }, { principal });
    const budget = await call<{ id: string }>('billing.budgets.set', {
      scope: 'tree',
      subject: run.id,
      period: 'lifetime',
      limit,
    });
    await engine.signal(tenant(), run.id, 'go', null);
    // What a timeout shows (CI once waited 20 s for it on PostgreSQL): the pauses, and each child.
    const state = async () => ({
      pauses: (await pauses.list(tenant())).filter((p) => p.budgetId === budget.id),
      children: (await engine.list(tenant(), { parentId: run.id })).map((c) => [c.status, c.error?.code]),
      budget: await billing.budgets.get(tenant(), budget.id),
    });
    const pause = await until(
      'a budget pause',
      async () => {
        const [open] = (await pauses.list(tenant())).filter((p) => p.budgetId === budget.id);
        return open?.approvalId && open.runs >= children ? open : undefined;
      },
      20_000,
      state,
    );
    return { run, budget, pause };
  }

  const spentAndHeld = async (budgetId: string): Promise<number> => {
    const status = await billing.budgets.get(tenant(), budgetId);
    return Number(status.spent + status.held);
  };

  it('a tree over its budget pauses with one escalation and one approval; an approved raise resumes every run once', async () => {
    executions.clear();
    const { run, budget, pause } = await treeOverBudget(5, 4, '1.00');
    assert.equal(pause.status, 'paused');
    assert.equal(pause.runs, 5, 'every child joined the one pause');
    assert.ok((await spentAndHeld(budget.id)) <= 1_000_000, 'spent + held never exceed the limit');
    const escalations = await alerts.escalations.list(tenant(), {});
    const mine = escalations.filter((e) => e.title.includes('budget exhausted'));
    assert.equal(mine.length, 1, 'one escalation for the exhausted budget');
    const pending = await alerts.approvals.list(tenant(), { status: 'pending' });
    assert.equal(pending.length, 1, 'one approval to raise it');
    for (const child of await engine.list(tenant(), { parentId: run.id }))
      assert.notEqual(child.status, 'failed', 'paused, not failed');
    await call('approvals.decide', { id: pause.approvalId, decision: 'approve', value: { limit: '3.00' } });
    const done = await until('the tree to finish', async () => {
      const r = await engine.get(tenant(), run.id);
      return r.status === 'completed' || r.status === 'failed' ? r : undefined;
    });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.output, 20);
    assert.equal(executions.size, 20, 'twenty paid calls');
    assert.ok(
      [...executions.values()].every((n) => n === 1),
      'each made exactly once',
    );
    const status = await billing.budgets.get(tenant(), budget.id);
    assert.deepEqual([status.limit, status.spent, status.held], [3_000_000n, 2_000_000n, 0n]);
    const resolved = await pauses.get(tenant(), pause.id);
    assert.deepEqual([resolved.status, resolved.newLimit], ['resumed', '3.00']);
    const after = await alerts.escalations.list(tenant(), { status: 'unresolved' });
    assert.equal(after.filter((e) => e.title.includes('budget exhausted')).length, 0, 'escalation resolved');
  });

  it('a rejected raise fails the paused runs with E_BUDGET_EXCEEDED', async () => {
    const { run, pause } = await treeOverBudget(2, 3, '0.30');
    await call('approvals.decide', { id: pause.approvalId, decision: 'reject', reason: 'not now' });
    const done = await until('the tree to end', async () => {
      const r = await engine.get(tenant(), run.id);
      return r.status === 'completed' || r.status === 'failed' ? r : undefined;
    });
    assert.equal(done.status, 'failed');
    const children = await engine.list(tenant(), { parentId: run.id });
    assert.ok(children.every((c) => c.status === 'failed' && c.error?.code === 'E_BUDGET_EXCEEDED'));
    assert.equal((await pauses.get(tenant(), pause.id)).status, 'rejected');
  });

  it("onBudgetExhausted: 'fail' fails at once; bad input is refused and changes nothing", async () => {
    const budget = await call<{ id: string }>('billing.budgets.set', {
      scope: 'kind',
      subject: 'test',
      period: 'lifetime',
      limit: '0.10',
    });
    const run = await engine.start('bp.strict', { calls: 2 }, { principal });
    const done = await until('the strict run to fail', async () => {
      const r = await engine.get(tenant(), run.id);
      return r.status === 'failed' ? r : undefined;
    });
    assert.equal(done.error?.code, 'E_BUDGET_EXCEEDED');
    const before = await pauses.list(tenant(), { status: 'all' });
    assert.equal(before.filter((p) => p.budgetId === budget.id).length, 0, 'no pause for a failing workflow');
    for (const limit of ['-1.00', 'ten', '1e3'])
      await assert.rejects(
        call('billing.budgets.set', { scope: 'kind', subject: 'test', period: 'lifetime', limit }),
        withCode('E_INVALID_MONEY'),
      );
    assert.equal((await billing.budgets.get(tenant(), budget.id)).limit, 100_000n, 'limit unchanged');
    // A project budget holds every tree labelled with the project (scopes nest).
    await call('billing.budgets.set', {
      scope: 'project',
      subject: 'apollo',
      period: 'lifetime',
      limit: '0.10',
    });
    await call('billing.budgets.remove', { id: budget.id });
    const inProject = await engine.start('bp.strict', { calls: 2 }, { principal, project: 'apollo' });
    const outside = await engine.start('bp.strict', { calls: 2 }, { principal });
    const [a, b] = await Promise.all(
      [inProject, outside].map((r) =>
        until('the run to end', async () => {
          const got = await engine.get(tenant(), r.id);
          return got.status === 'completed' || got.status === 'failed' ? got : undefined;
        }),
      ),
    );
    assert.deepEqual(
      [a?.status, a?.error?.code],
      ['failed', 'E_BUDGET_EXCEEDED'],
      'the project budget holds',
    );
    assert.equal(b?.status, 'completed', 'a run outside the project is not held by it');
    const [any] = before;
    if (any)
      await assert.rejects(
        call('runs.budget_pauses.resolve', { id: any.id }),
        withCode('E_CAPABILITY_DENIED'),
      );
    await assert.rejects(call('runs.budget_pauses.get', { id: 'bpz_nope' }), withCode('E_NOT_FOUND'));
  });
});
