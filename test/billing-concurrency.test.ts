// Budget admission with real OS processes on PostgreSQL.
// 1. 1,000 concurrent reservations of 0.10 against a 5.00 hard budget from 2 processes: exactly 50
//    admitted, the budget account never negative (sampled throughout), no hold left behind.
// 2. kill -9 a process while it is making reservations: its committed holds expire and are voided,
//    its uncommitted ones never existed; the budget is whole again and the trial balance is 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/kernel/clock.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import type { Store } from '../src/kernel/index.ts';
import { Billing } from '../src/provisioning/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { withCode } from '../src/testkit/stores.ts';

let db: { url: string; drop: () => Promise<void> };
let store: Store;
let billing: Billing;
const clock = new ManualClock(Date.now());
const children: ChildProcess[] = [];

function spawnReserver(
  args: string[],
  readyWord: string,
): Promise<ChildProcess & { output: Promise<string> }> {
  const child = spawn(process.execPath, ['test/fixtures/billing-reserver.ts', db.url, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  const output = new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(readyWord)) resolve(Object.assign(child, { output }));
    });
    child.once(
      'exit',
      (code) => !out.includes(readyWord) && reject(new Error(`reserver exited early: ${code}`)),
    );
  });
}

const count = async (sql: string, params: string[] = []): Promise<number> =>
  Number((await store.get<{ n: number }>(sql, params))?.n ?? 0);

before(async () => {
  db = await createTestDatabase();
  store = await createPostgresStore({ connectionString: db.url });
  billing = await Billing.open({ store, clock });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await db?.drop();
});

test(
  '1,000 concurrent reservations of 0.10 against 5.00 from 2 processes: exactly 50 admitted',
  { timeout: 60_000 },
  async () => {
    const tenantId = 'ten_race';
    const budget = await billing.budgets.set({
      tenantId,
      scope: 'tenant',
      period: 'month',
      currency: 'USD',
      limit: 5_000_000n,
    });
    const reservers = await Promise.all([0, 1].map(() => spawnReserver(['race', tenantId, '500'], 'ready')));
    let lowest = Number.POSITIVE_INFINITY;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const row = await store.get<{ low: number | null }>(
          "SELECT MIN(credits_posted - debits_posted - debits_pending) AS low FROM bill_accounts WHERE kind = 'budget' AND tenant_id = ?",
          [tenantId],
        );
        if (row?.low !== null && row?.low !== undefined) lowest = Math.min(lowest, Number(row.low));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    for (const child of reservers) child.stdin?.write('go\n');
    const results = (await Promise.all(reservers.map((c) => c.output))).map(
      (out) =>
        JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
          admitted: number;
          refused: number;
          errors: number;
        },
    );
    sampling = false;
    await sampler;
    const admitted = results.reduce((n, r) => n + r.admitted, 0);
    const refused = results.reduce((n, r) => n + r.refused, 0);
    process.stdout.write(
      `# race: per process ${JSON.stringify(results)}; lowest sampled available ${lowest}\n`,
    );
    assert.equal(
      results.reduce((n, r) => n + r.errors, 0),
      0,
      'no unexpected error',
    );
    assert.equal(admitted, 50);
    assert.equal(refused, 950);
    assert.ok(results.every((r) => r.admitted + r.refused === 500));
    assert.ok(lowest >= 0, `available went negative: ${lowest}`);
    const status = await billing.budgets.get(tenantId, budget.id);
    assert.deepEqual([status.spent, status.held, status.available], [5_000_000n, 0n, 0n]);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM bill_pending WHERE status = 'pending'"),
      0,
      'no hold left',
    );
    assert.equal(await count("SELECT COUNT(*) AS n FROM bill_pending WHERE status = 'posted'"), 50);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM bill_transfers WHERE kind = 'pending'"),
      50,
      'refusals left no transfer',
    );
    for (const line of await billing.ledger.trialBalance()) assert.equal(line.difference, 0n);
  },
);

test(
  'kill -9 mid-reservation: holds expire and are voided, nothing stays charged',
  { timeout: 60_000 },
  async () => {
    const tenantId = 'ten_crash';
    const budget = await billing.budgets.set({
      tenantId,
      scope: 'tenant',
      period: 'lifetime',
      currency: 'USD',
      limit: 1_000_000n,
    });
    const HOLD_MS = 2000;
    const child = await spawnReserver(['hold', tenantId, '8', String(HOLD_MS)], 'holding');
    await new Promise((r) => setTimeout(r, 150)); // let it hold more, with reservations in flight
    child.kill('SIGKILL');
    await child.output;
    const killedAt = Date.now();
    const held = await billing.budgets.get(tenantId, budget.id);
    assert.ok(held.held > 0n, 'the killed process left holds');
    assert.equal(held.spent, 0n);
    const leftovers = await count(
      "SELECT COUNT(*) AS n FROM bill_pending WHERE status = 'pending' AND tenant_id = ?",
      [tenantId],
    );
    process.stdout.write(`# crash: ${leftovers} holds (${held.held} micro-USD) left by the killed process\n`);
    // Before the timeout the holds still count: a reservation for the whole budget is refused.
    clock.set(killedAt);
    const request = { tenantId, principalId: 'key_other', kind: 'model', syscall: 'model.generate' };
    await assert.rejects(billing.budgets.reserve(request, 1_000_000n), withCode('E_BUDGET_EXCEEDED'));
    // After the timeout the reaper voids them all.
    clock.set(killedAt + HOLD_MS + 1);
    assert.equal(await billing.ledger.expireDue(), leftovers);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM bill_pending WHERE status = 'pending' AND tenant_id = ?", [
        tenantId,
      ]),
      0,
    );
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM bill_pending WHERE status = 'expired' AND tenant_id = ?", [
        tenantId,
      ]),
      leftovers,
    );
    const after = await billing.budgets.get(tenantId, budget.id);
    assert.deepEqual([after.spent, after.held, after.available], [0n, 0n, 1_000_000n]);
    const whole = await billing.budgets.reserve(request, 1_000_000n);
    assert.ok(whole, 'the whole budget is usable again');
    for (const line of await billing.ledger.trialBalance()) assert.equal(line.difference, 0n);
  },
);
