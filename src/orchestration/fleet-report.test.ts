// Fleet counters from the store, on SQLite and PostgreSQL, over seeded activity made with the real
// components: a one_for_one supervisor restarting a failed child, a completed task with metered
// cost, a failing syscall, an escalation acked (on a manual clock) and one left open, approvals
// decided by a person and by a timeout (rows as the approvals layer writes them). The same figures
// come out of `fleet.report` and, as gauges, out of the kernel's /metrics registry.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { ManualClock } from '../kernel/clock.ts';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { Escalations } from './escalations/escalations.ts';
import { registerFleetMetrics } from './fleet-metrics.ts';
import { fleetReport, type FleetReport } from './fleet-report.ts';
import { fleetSyscalls } from './supervision/syscalls.ts';
import { defineSupervisor } from './supervision/supervisor.ts';
import { fleetTree } from './supervision/tree.ts';
import { harness, type Harness } from './testing.ts';

const worker = defineWorkflow(
  { name: 'fleet-report-test.agent', version: 1, input: z.object({}), output: z.string() },
  async (ctx) => {
    const { mode } = await ctx.waitFor<{ mode: 'normal' | 'fail' }>('finish');
    if (mode === 'fail') throw new Error('crashed');
    return mode;
  },
);

const task = defineWorkflow(
  { name: 'fleet-report-test.task', version: 1, input: z.object({}), output: z.string() },
  async (ctx) => ctx.step('work', () => Promise.resolve('done')),
);

const supervisor = defineSupervisor({
  name: 'fleet-report-test.sup',
  version: 1,
  strategy: 'one_for_one',
  backoff: { baseMs: 0, maxMs: 0 },
  children: [{ id: 'w', workflow: worker, input: {} }],
});

async function childIncarnation(h: Harness, supId: string, incarnation: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const tree = await fleetTree(h.engine, h.principal.tenantId, supId);
    const child = tree.children[0];
    if (child?.incarnation === incarnation && child.status === 'waiting') return child.runId;
    if (Date.now() > deadline) throw new Error(`no incarnation ${incarnation}: ${JSON.stringify(tree)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function seed(h: Harness): Promise<void> {
  h.engine.register(worker);
  h.engine.register(task);
  h.engine.register(supervisor);
  for (const def of fleetSyscalls(h.engine)) h.kernel.register(def);
  await h.worker({ concurrency: 10 });
  const tenant = h.principal.tenantId;

  const sup = await h.engine.start(supervisor.name, {}, { principal: h.principal });
  await h.engine.signal(tenant, await childIncarnation(h, sup.id, 1), 'finish', { mode: 'fail' });
  await childIncarnation(h, sup.id, 2);

  const done = await h.engine.start(task.name, {}, { principal: h.principal });
  await h.waitFor(done.id, ['completed']);
  await h.engine.meterHook.record({
    tenantId: tenant,
    principalId: h.principal.id,
    syscall: 'models.generate',
    resource: 'models',
    costMicros: 1_500,
    durationUs: 1,
    ok: true,
    runId: done.id,
  });

  await assert.rejects(
    h.kernel.call('fleet.fence', { runId: 'run_missing' }, { principal: h.principal }),
    withCode('E_NOT_FOUND'),
  );

  const clock = new ManualClock(1_000_000);
  const escalations = await Escalations.open({ store: h.store, clock });
  const acked = await escalations.raise(tenant, { key: 'a', severity: 'P1', title: 'a', source: 'test' });
  await escalations.raise(tenant, { key: 'b', severity: 'P2', title: 'b', source: 'test' });
  clock.advance(5_000);
  await escalations.ack(tenant, acked.id, 'ops');

  const approval = (id: string, status: string, via: string | null, decidedAt: number | null) =>
    h.store.run(
      `INSERT INTO orch_approvals (id, tenant_id, request_key, run_id, workflow, question, approvers,
         on_timeout, status, decided_via, created_at, decided_at)
       VALUES (?, ?, ?, 'run_x', 'w', 'ok?', '[]', 'reject', ?, ?, 1000, ?)`,
      [id, tenant, id, status, via, decidedAt],
    );
  await fleetReport(h.store); // creates the approvals table on a store that never opened the layer
  await approval('apr_1', 'approved', 'api', 4_000);
  await approval('apr_2', 'rejected', 'timeout', 9_000);
  await approval('apr_3', 'pending', null, null);
}

function assertFigures(r: FleetReport): void {
  assert.deepEqual(r.restarts.total, 1);
  assert.equal(r.restarts.bySupervisor[0]?.workflow, supervisor.name);
  assert.equal(r.duplicateWork.total, 0);
  assert.equal(r.stalls, 0);
  assert.equal(r.deaths.detected, 0);
  assert.equal(r.deaths.detectionLatencyMs, null);
  const fleet = r.syscalls.find((s) => s.layer === 'fleet');
  assert.equal(fleet?.failed, 1);
  assert.deepEqual(r.escalations, { total: 2, open: 1, acked: 1, medianTimeToAckMs: 5_000 });
  assert.deepEqual(r.approvals, {
    total: 3,
    pending: 1,
    decided: 2,
    timedOut: 1,
    medianTimeToDecisionMs: 3_000,
  });
  // Completed root runs: the task only (the supervisor is still running).
  assert.deepEqual(r.tasks, { completed: 1, costMicros: 1_500, costPerCompletedTaskMicros: 1_500 });
}

onEveryStore('fleet report', (db) => {
  it('counts restarts, failures, escalations, approvals and cost per task exactly', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    await seed(h);
    const report = await fleetReport(h.store, h.principal.tenantId);
    assertFigures(report);

    const viaSyscall = await h.kernel.call<FleetReport>('fleet.report', {}, { principal: h.principal });
    assertFigures(viaSyscall);
    assert.equal(viaSyscall.syscalls.find((s) => s.layer === 'fleet')?.ok, 0);

    // A window after the activity sees none of it.
    const later = await fleetReport(h.store, h.principal.tenantId, { sinceMs: Date.now() + 60_000 });
    assert.equal(later.restarts.total, 0);
    assert.equal(later.tasks.costPerCompletedTaskMicros, null);
    assert.equal(later.tasks.reason, 'no completed tasks');

    // A duplicate: the replaced incarnation put back to waiting beside its successor, on no timer
    // (available_at NULL), so the harness's worker does not claim it and fail it again meanwhile.
    await h.store.run(
      `UPDATE orch_runs SET status = 'waiting', available_at = NULL
        WHERE idempotency_key LIKE 'sup:%:1:w' AND tenant_id = ?`,
      [h.principal.tenantId],
    );
    assert.equal((await fleetReport(h.store, h.principal.tenantId)).duplicateWork.total, 1);

    registerFleetMetrics(h.kernel.metrics.registry, h.store, { cacheMs: 0 });
    const text = await h.kernel.metrics.registry.metrics();
    assert.match(text, /^strata_fleet_restarts 1$/m);
    assert.match(text, /^strata_fleet_duplicate_work 1$/m);
    assert.match(text, /^strata_fleet_syscalls\{layer="fleet",outcome="failed"\} 1$/m);
    assert.match(text, /^strata_fleet_escalation_time_to_ack_seconds 5$/m);
    assert.match(text, /^strata_fleet_approval_time_to_decision_seconds 3$/m);
    assert.match(text, /^strata_fleet_cost_per_completed_task_micros 1500$/m);
  });
});
