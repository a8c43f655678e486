// The reliability report on SQLite and PostgreSQL, over faults injected by the real chaos injector
// in the real syscall pipeline: calls whose first attempt is OOM-killed and the pipeline's retry
// recovers; a run whose call fails on an injected error and fails (unrecovered); a run that catches
// it and calls again once chaos is off (retry); a supervised child failed by the fault and replaced
// by a real supervisor restart whose next incarnation completes (restart). Counts are asserted
// exactly, through `fleet.reliability`; the invariants are checked on rows the layers would write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { z } from 'zod';
import { chaosSchema, ChaosInjector, takeChaosFault } from '../../kernel/chaos/index.ts';
import { Kernel, StrataError, systemClock } from '../../kernel/index.ts';
import { defineSyscall } from '../../kernel/syscalls/define.ts';
import { createScriptedProvider } from '../../models/drivers/scripted/index.ts';
import { ModelService, modelSyscalls, parseModelsConfig } from '../../models/index.ts';
import { onEveryStore, type StoreHandle } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { Engine } from '../engine.ts';
import { fleetSyscalls } from '../supervision/syscalls.ts';
import { defineSupervisor } from '../supervision/supervisor.ts';
import { fleetTree } from '../supervision/tree.ts';
import { Worker } from '../worker.ts';
import { fleetReport } from '../fleet-report.ts';
import { reliabilityReport } from './report.ts';
import type { ReliabilityReport } from './schema.ts';

const fragile = () =>
  defineSyscall({
    name: 'tools.fragile',
    description: 'answers ok unless chaos fails it (no retry in the pipeline)',
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    idempotency: 'idempotent',
    retry: { attempts: 1 },
    handler: () => ({ ok: true }),
  });

const flaky = () =>
  defineSyscall({
    name: 'sandbox.flaky',
    description: 'its driver is OOM-killed on the first attempt when chaos plans it',
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    idempotency: 'idempotent',
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    handler: (_input, ctx) => {
      if (ctx.attempt === 1 && takeChaosFault('compute', 'oom_kill'))
        throw new StrataError('E_UNAVAILABLE', 'killed: out of memory', undefined, { retryable: true });
      return { ok: true };
    },
  });

const crowded = () =>
  defineSyscall({
    name: 'sandbox.crowded',
    description: 'every slot is taken: back-pressure (E_RATE_LIMITED), as a full browser pool answers',
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    idempotency: 'idempotent',
    retry: { attempts: 1 },
    handler: () => {
      throw new StrataError('E_RATE_LIMITED', 'every slot is taken; retry later', { retryAfterMs: 1000 });
    },
  });

const stale = () =>
  defineSyscall({
    name: 'sandbox.stale',
    description: 'fails for a real reason, no fault involved (a state conflict)',
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    idempotency: 'idempotent',
    retry: { attempts: 1 },
    handler: () => {
      throw new StrataError('E_CONFLICT', 'the workspace moved on');
    },
  });

const once = defineWorkflow(
  { name: 'rel-test.once', version: 1, input: z.object({}), output: z.boolean() },
  async (ctx) => (await ctx.syscall<{ ok: boolean }>('tools.fragile', {})).ok,
);

const again = defineWorkflow(
  { name: 'rel-test.again', version: 1, input: z.object({}), output: z.boolean() },
  async (ctx) => {
    try {
      await ctx.syscall('tools.fragile', {});
    } catch {
      await ctx.waitFor('go');
    }
    return (await ctx.syscall<{ ok: boolean }>('tools.fragile', {})).ok;
  },
);

const child = defineWorkflow(
  { name: 'rel-test.child', version: 1, input: z.object({}), output: z.boolean() },
  async (ctx) => {
    await ctx.waitFor('go');
    return (await ctx.syscall<{ ok: boolean }>('tools.fragile', {})).ok;
  },
);

const supervisor = defineSupervisor({
  name: 'rel-test.sup',
  version: 1,
  strategy: 'one_for_one',
  backoff: { baseMs: 0, maxMs: 0 },
  children: [{ id: 'c', workflow: child, input: {}, restart: 'transient' }],
});

/** One key for the suite: its tests open kernels on the same store, whose signing key it seals. */
const masterKey = randomBytes(32);

async function open(db: StoreHandle, tenantName = 'rel') {
  const chaos = new ChaosInjector({ config: chaosSchema.parse({}), mode: 'development', clock: systemClock });
  const store = await db.open();
  const engine = await Engine.open({ store });
  const kernel = await Kernel.open({ store, masterKey, meter: engine.meterHook, chaos });
  engine.attachKernel(kernel);
  kernel.register(fragile());
  // A route whose first target gives up at once (one attempt), so a failed call falls back to m2.
  const models = parseModelsConfig({
    providers: [{ name: 'scripted', driver: 'scripted', models: ['m1', 'm2'], retry: { attempts: 1 } }],
    routes: { main: ['scripted/m1', 'scripted/m2'] },
  });
  const provider = createScriptedProvider({
    script: () => ({ text: 'ok', usage: { inputTokens: 1, outputTokens: 1 } }),
  });
  for (const def of modelSyscalls(new ModelService({ config: models, providers: { scripted: provider } })))
    kernel.register(def);
  kernel.register(flaky());
  kernel.register(crowded());
  kernel.register(stale());
  for (const def of fleetSyscalls(engine)) kernel.register(def);
  engine.register(once);
  engine.register(again);
  engine.register(child);
  engine.register(supervisor);
  const tenant = await kernel.principals.createTenant(tenantName);
  const { key } = await kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'ops',
    grants: [{ syscall: '*', resource: '*' }],
  });
  const principal = await kernel.authenticate({ apiKey: key });
  const worker = new Worker(engine, { pollMs: 10, leaseMs: 2_000 });
  await worker.start();
  return { store, engine, kernel, principal, close: async () => (await worker.stop(), await kernel.close()) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

onEveryStore('reliability report', (db) => {
  it('counts injected faults and how each was recovered, exactly', async (t) => {
    const h = await open(db());
    t.after(() => h.close());
    const as = { principal: h.principal };
    const tenant = h.principal.tenantId;
    const status = async (id: string) => (await h.engine.get(tenant, id)).status;
    const childAt = (supId: string, incarnation: number) =>
      until(`incarnation ${incarnation}`, async () => {
        const c = (await fleetTree(h.engine, tenant, supId)).children[0];
        return c?.incarnation === incarnation && c.status === 'waiting' ? c.runId : undefined;
      });

    await h.kernel.call(
      'chaos.set',
      {
        enabled: true,
        seed: 1,
        rules: [
          { syscall: 'sandbox.flaky', errorRate: 1, fault: 'oom_kill' },
          { syscall: 'tools.fragile', errorRate: 1 },
          { syscall: 'model.generate', errorRate: 1, fault: 'http_500' },
        ],
      },
      as,
    );
    for (let i = 0; i < 4; i++) await h.kernel.call('sandbox.flaky', {}, as);
    const prompt = { messages: [{ role: 'user', content: 'go' }] };
    await h.kernel.call('model.generate', { model: 'main', ...prompt }, as); // m1 answers 500: m2 does
    await assert.rejects(h.kernel.call('model.generate', { model: 'scripted/m2', ...prompt }, as)); // no route
    const u = await h.engine.start(once.name, {}, as);
    const r = await h.engine.start(again.name, {}, as);
    const sup = await h.engine.start(supervisor.name, {}, as);
    await h.engine.signal(tenant, await childAt(sup.id, 1), 'go', {});
    const second = await childAt(sup.id, 2);
    await until('run failed', async () => ((await status(u.id)) === 'failed' ? true : undefined));
    await until('run waiting', async () => ((await status(r.id)) === 'waiting' ? true : undefined));

    await h.kernel.call('chaos.set', { enabled: false }, as);
    await h.engine.signal(tenant, r.id, 'go', {});
    await h.engine.signal(tenant, second, 'go', {});
    await until('recovered', async () =>
      (await status(r.id)) === 'completed' && (await status(second)) === 'completed' ? true : undefined,
    );

    const report = await h.kernel.call<ReliabilityReport>(
      'fleet.reliability',
      { measuredWithoutMechanisms: 0.5 },
      as,
    );
    const layer = (name: string) => {
      const l = report.layers.find((x) => x.layer === name);
      return (
        l && [l.syscalls, l.ok, l.failed, l.denied, l.faultsInjected, l.faultedCalls, l.failedAfterFault]
      );
    };
    const outcome = (name: string) => {
      const l = report.layers.find((x) => x.layer === name);
      return (
        l && { ...l.recovered, unrecovered: l.unrecovered, pending: l.pending, unattributed: l.unattributed }
      );
    };
    const none = {
      retry: 0,
      fallback: 0,
      restart: 0,
      takeover: 0,
      human: 0,
      unrecovered: 0,
      pending: 0,
      unattributed: 0,
    };
    const rates = (name: string) =>
      report.layers.filter((l) => l.layer === name).map((l) => [l.successRaw, l.successWithStrata]);
    // [syscalls, ok, failed, denied, faults, faulted calls, failed after a fault]
    // compute: every first attempt OOM-killed, every call recovered by the pipeline's retry.
    assert.deepEqual(layer('compute'), [4, 4, 0, 0, 4, 4, 0]);
    assert.deepEqual(outcome('compute'), { ...none, retry: 4 });
    assert.deepEqual(rates('compute'), [[0, 1]]);
    // models: the routed call fell back to m2; the direct call failed outside any run.
    assert.deepEqual(layer('models'), [2, 1, 1, 0, 2, 2, 1]);
    assert.deepEqual(outcome('models'), { ...none, fallback: 1, unattributed: 1 });
    assert.deepEqual(rates('models'), [[0, 0.5]]);
    // tools: u fails unrecovered; r catches its failed call and calls again (retry); the child's
    // first incarnation fails and is replaced (restart), its second completes.
    assert.deepEqual(layer('tools'), [5, 2, 3, 0, 3, 3, 3]);
    assert.deepEqual(outcome('tools'), { ...none, retry: 1, restart: 1, unrecovered: 1 });
    assert.deepEqual(rates('tools'), [[2 / 5, 2 / 5]]);
    assert.deepEqual(
      report.layers.map((l) => [l.layer, l.faultsByKind]),
      [
        ['compute', { oom_kill: 4 }],
        ['kernel', {}],
        ['models', { http_500: 2 }],
        ['tools', { error: 3 }],
      ],
    );
    assert.deepEqual(report.mechanisms, { retry: 5, fallback: 1, restart: 1, takeover: 0, human: 0 });
    const e2e = report.endToEnd;
    assert.deepEqual(e2e.layersUsed, ['compute', 'models', 'tools']);
    assert.equal(e2e.predictedRaw, 0, 'every first attempt in compute and models failed');
    // Root runs: u failed, r completed, the supervisor still runs; 5 journaled calls over 3 roots.
    assert.deepEqual(e2e.tasks, { total: 3, completed: 1, failed: 1, live: 1 });
    assert.equal(e2e.measuredWithMechanisms, 0.5);
    assert.equal(e2e.measuredWithoutMechanisms, 0.5);
    assert.equal(e2e.callsPerTask, 5 / 3);
    assert.equal(
      e2e.perCallRaw,
      2 / 11,
      'first attempts ok: 0 of 4 in compute, 0 of 2 in models, 2 of 5 in tools',
    );
    assert.equal(e2e.predictedRawPerTask, (2 / 11) ** (5 / 3));
    assert.equal(report.timeToRecoverMs.takeovers, null);
    assert.ok(
      (report.timeToRecoverMs.runs?.p50 ?? 0) > 0,
      'r and the second incarnation completed after their faults',
    );
    assert.equal(report.recoveryCost.retriedCalls, 5, '4 retried, 1 fell back');
    assert.equal(report.recoveryCost.restartedRuns, 1);
    // Verified inside the call: before its own entry and kernel.audit.verify's were appended.
    const entries = await h.kernel.audit.list(tenant, { limit: 1000 });
    const verify = entries.find((e) => e.action === 'kernel.audit.verify');
    assert.deepEqual(
      { ...report.invariants.auditChain },
      { checked: true, holds: true, entries: (verify?.seq ?? 0) - 1, headHash: verify?.prevHash },
    );
    assert.equal(report.invariants.budget.checked, false, 'the billing layer was never opened');
    assert.equal(report.truncated, false);

    // A person resumed two runs paused on an exhausted budget (rows as the budget-pause layer writes
    // them), and a worker's death was taken over: human in the exhausted call's layer, takeover in
    // orchestration, with the takeover's heartbeat-to-resume time (r journaled steps after it).
    await h.store.run(
      `INSERT INTO orch_budget_pauses (id, tenant_id, budget_id, budget, leader_run_id, root_id, syscall,
         proposed_limit, status, created_at, resolved_at) VALUES ('bp_1', ?, 'bud_1', '{}', ?, ?, 'model.generate', '"2"', 'resumed', 1, 2)`,
      [tenant, r.id, r.id],
    );
    for (const run of [r.id, u.id])
      await h.store.run(
        `INSERT INTO orch_budget_paused_runs (pause_id, run_id, joined_at) VALUES ('bp_1', ?, 1)`,
        [run],
      );
    await h.store.run(
      `INSERT INTO orch_lease_takeovers (run_id, tenant_id, prev_owner, new_owner, lease_expired_at, taken_at, lease_ms)
       VALUES (?, ?, 'w1', 'w2', 1000, 1000, 1000)`,
      [r.id, tenant],
    );
    const people = await reliabilityReport(h.store, tenant);
    assert.deepEqual(people.mechanisms, { retry: 5, fallback: 1, restart: 1, takeover: 1, human: 2 });
    assert.equal(people.layers.find((l) => l.layer === 'models')?.recovered.human, 2);
    assert.equal(people.layers.find((l) => l.layer === 'orchestration')?.recovered.takeover, 1);
    assert.ok(people.timeToRecoverMs.takeovers !== null, 'r made steps after the takeover');
    assert.equal(people.invariants.auditChain.checked, false, 'verified by the syscall only');
  });

  it('leaves back-pressure (E_RATE_LIMITED) out of success, but not a 429 an injected fault caused', async (t) => {
    const h = await open(db(), 'crowded');
    t.after(() => h.close());
    const as = { principal: h.principal };
    await h.kernel.call('sandbox.flaky', {}, as);
    for (let i = 0; i < 2; i++)
      await assert.rejects(
        h.kernel.call('sandbox.stale', {}, as),
        (e: StrataError) => e.code === 'E_CONFLICT',
      );
    for (let i = 0; i < 2; i++)
      await assert.rejects(
        h.kernel.call('sandbox.crowded', {}, as),
        (e: StrataError) => e.code === 'E_RATE_LIMITED',
      );
    await h.kernel.call(
      'chaos.set',
      { enabled: true, seed: 1, rules: [{ syscall: 'model.generate', errorRate: 1, fault: 'http_429' }] },
      as,
    );
    const prompt = { messages: [{ role: 'user', content: 'go' }] };
    await assert.rejects(h.kernel.call('model.generate', { model: 'scripted/m1', ...prompt }, as));
    await h.kernel.call('chaos.set', { enabled: false }, as);

    const report = await reliabilityReport(h.store, h.principal.tenantId);
    const compute = report.layers.find((l) => l.layer === 'compute');
    assert.deepEqual(
      compute && [compute.syscalls, compute.ok, compute.failed, compute.throttled],
      [5, 1, 2, 2],
      'the two refusals for capacity are neither successes nor failures',
    );
    assert.equal(compute?.successWithStrata, 1 / 3);
    assert.deepEqual(compute?.failedWithoutFault, { E_CONFLICT: 2 }, 'the real failures, by code');
    const models = report.layers.find((l) => l.layer === 'models');
    assert.deepEqual(models && [models.failed, models.throttled, models.faultsInjected], [1, 0, 1]);
    assert.deepEqual(models?.failedWithoutFault, {}, 'the injected 429 is a fault, not another failure');
    const fleet = await fleetReport(h.store, h.principal.tenantId);
    assert.equal(fleet.syscalls.find((l) => l.layer === 'sandbox')?.throttled, 2);
  });
});
