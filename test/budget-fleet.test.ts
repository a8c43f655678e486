// Issue 12's budget must-show, with real processes on PostgreSQL: 1,000 concurrent model calls of
// 0.10 USD worst case against a 5.00 USD `tree` budget, made by three worker processes. Throughout,
// spent + held on the budget never exceed 5.00 (sampled); the tree pauses (no run fails), one
// escalation and one approval are raised; approving a raise resumes every paused run, and each of
// the 1,000 calls is billed exactly once (spent = 1,000 × the 0.05 actual cost).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Principal } from '../src/kernel/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { openBudgetFleet, type BudgetFleet } from './fixtures/budget-fleet.ts';

const CALLS = 1000;
let db: { url: string; drop: () => Promise<void> };
let fleet: BudgetFleet;
let principal: Principal;
const workers: ChildProcess[] = [];

function startWorker(id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['test/fixtures/budget-fleet-worker.ts', db.url, id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
    child.once('exit', (code, signal) =>
      reject(new Error(`worker ${id} exited early with ${code ?? signal}`)),
    );
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  db = await createTestDatabase();
  fleet = await openBudgetFleet(db.url); // migrates before the workers start
  const tenant = await fleet.kernel.principals.createTenant('budgetfleet');
  const { key } = await fleet.kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'ops',
    grants: [{ syscall: '*', resource: '*' }],
  });
  principal = await fleet.kernel.authenticate({ apiKey: key });
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await fleet?.close();
  await db?.drop();
});

test(
  '1,000 concurrent $0.10 model calls against a $5 tree budget across 3 processes',
  { timeout: 240_000 },
  async () => {
    const { engine, billing, pauses, alerts, kernel } = fleet;
    const tenantId = principal.tenantId;
    const root = await engine.start('bf.root', {}, { principal });
    const budget = await kernel.call<{ id: string }>(
      'billing.budgets.set',
      { scope: 'tree', subject: root.id, period: 'lifetime', limit: '5.00' },
      { principal },
    );
    const inputs = Array.from({ length: CALLS }, (_, n) => ({ n }));
    const ids = await engine.startMany('bf.call', inputs, { principal, rootId: root.id });
    assert.equal(ids.length, CALLS);

    let highest = 0n;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const status = await billing.budgets.get(tenantId, budget.id);
        if (status.spent + status.held > highest) highest = status.spent + status.held;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const started = Date.now();
    await Promise.all(['w1', 'w2', 'w3'].map(startWorker));

    // The tree runs until the budget is exhausted, then every remaining call pauses on one pause.
    const pause = await until(
      'the remaining calls to pause',
      async () => {
        const [open] = await pauses.list(tenantId);
        if (!open?.approvalId) return undefined;
        const waiting = await fleet.store.get<{ n: number }>(
          "SELECT COUNT(*) AS n FROM orch_runs WHERE root_id = ? AND id <> ? AND status NOT IN ('completed', 'waiting')",
          [root.id, root.id],
        );
        return Number(waiting?.n) === 0 ? open : undefined;
      },
      150_000,
    );
    const pausedAfterMs = Date.now() - started;
    const beforeRaise = await billing.budgets.get(tenantId, budget.id);
    const completedBefore = (await engine.list(tenantId, { status: 'completed', limit: 1000 })).length;
    sampling = false;
    await sampler;
    console.log(
      `paused after ${pausedAfterMs} ms: ${completedBefore} calls done, ${pause.runs} runs paused; ` +
        `highest spent + held ${Number(highest) / 1e6} USD; spent ${Number(beforeRaise.spent) / 1e6}`,
    );
    assert.ok(highest <= 5_000_000n, `spent + held reached ${highest} micros`);
    assert.ok(beforeRaise.spent <= 5_000_000n);
    assert.equal(pause.runs, CALLS - completedBefore, 'every call not made is paused on the one pause');
    assert.ok(pause.runs > 0 && completedBefore > 0);
    assert.equal((await engine.list(tenantId, { status: 'failed' })).length, 0, 'paused, not failed');
    const escalations = (await alerts.escalations.list(tenantId, {})).filter((e) => e.source === 'budget');
    assert.equal(escalations.length, 1, 'one escalation');
    assert.equal((await alerts.approvals.list(tenantId, { status: 'pending' })).length, 1, 'one approval');

    await kernel.call(
      'approvals.decide',
      { id: pause.approvalId, decision: 'approve', value: { limit: '100.00' } },
      { principal },
    );
    await until(
      'every call to complete',
      async () => {
        const left = await fleet.store.get<{ n: number }>(
          "SELECT COUNT(*) AS n FROM orch_runs WHERE root_id = ? AND id <> ? AND status <> 'completed'",
          [root.id, root.id],
        );
        return Number(left?.n) === 0 ? true : undefined;
      },
      150_000,
    );
    const final = await billing.budgets.get(tenantId, budget.id);
    const twice = await fleet.store.all<{ id: string; attempt: number; cost_micros: number }>(
      'SELECT id, attempt, cost_micros FROM orch_runs WHERE root_id = ? AND cost_micros > 50000',
      [root.id],
    );
    if (twice.length > 0) {
      const first = twice[0] as { id: string };
      const journal = await fleet.store.all(
        'SELECT seq, kind, name, status, attempts, started_at, finished_at FROM orch_journal WHERE run_id = ? ORDER BY seq',
        [first.id],
      );
      const audit = await fleet.store
        .all('SELECT * FROM kernel_audit WHERE detail LIKE ? LIMIT 20', [`%${first.id}%`])
        .catch((e: unknown) => [String(e)]);
      console.log(
        'billed more than once:',
        twice.length,
        JSON.stringify(twice.slice(0, 3)),
        JSON.stringify(journal),
        JSON.stringify(audit).slice(0, 3000),
      );
    }
    assert.equal(final.held, 0n, 'no hold left');
    assert.equal(final.spent, BigInt(CALLS) * 50_000n, 'each call billed exactly once (1,000 × 0.05)');
    assert.equal(final.limit, 100_000_000n);
    assert.equal((await pauses.get(tenantId, pause.id)).status, 'resumed');
    const calls = await fleet.store.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM orch_journal j JOIN orch_runs r ON r.id = j.run_id WHERE r.root_id = ? AND j.name = 'model.generate' AND j.status = 'ok'",
      [root.id],
    );
    assert.equal(Number(calls?.n), CALLS, 'one journaled model call per run');
    console.log(`all ${CALLS} calls done ${Date.now() - started} ms after the workers started`);
  },
);
