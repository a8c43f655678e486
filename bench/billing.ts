// bench/billing.ts — the billing core on the local PostgreSQL, each part in a fresh database:
//   (a) budget admission under concurrency: ATTEMPTS calls of 0.10 against a 20.00 budget, 50 at
//       a time, through Strata's reservation (hold → post) and through a naive check-then-record
//       gate (read spent; if it fits, run the call, then add the cost — how LLM gateways commonly
//       do it), same pool, same load: attempts/s and overspend (Strata's must be 0);
//   (b) meter events ingested/s with dedupe (batches of 100; then the same events again, all
//       duplicates), against a bare INSERT … ON CONFLICT DO NOTHING of the same rows (the floor);
//   (c) ledger transfers/s at 20 concurrent writers between 100 no-overdraft wallets, against bare
//       two UPDATEs + one INSERT per transfer (the floor, no checks, no idempotency).
// Sizes: BENCH_ATTEMPTS (default 1000), BENCH_EVENTS (default 5000), BENCH_TRANSFERS (default 2000).
// The measurements are exported (bench/provisioning.ts shows them beside the provisioning figures);
// the table and JSON print only when this file is the benchmark being run.
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { ManualClock, type Store } from '../src/kernel/index.ts';
import { Billing, type MeterEvent } from '../src/provisioning/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { isMain, round, table } from './_util.ts';

export const ATTEMPTS = Number(process.env['BENCH_ATTEMPTS'] ?? 1000);
export const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 5000);
export const TRANSFERS = Number(process.env['BENCH_TRANSFERS'] ?? 2000);
export const CONCURRENCY = 50;
export const WRITERS = 20;
export const LIMIT = 20_000_000n; // 20.00
export const COST = 100_000n; // 0.10
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function onPostgres<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const db = await createTestDatabase();
  const store = await createPostgresStore({ connectionString: db.url, poolSize: 20 });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

/** Runs `n` tasks, `width` at a time; returns elapsed seconds. */
async function pool(n: number, width: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Attempts/s (admitted and refused), calls admitted, and spend above the limit (`"0.00"` when none). */
export type GateResult = { perSecond: number; admitted: number; overspend: string };
export type MeterResult = { fresh: number; duplicates: number; floor: number; duplicatesSeen: number };
export type LedgerResult = { strata: number; floor: number; trialBalanceZero: boolean };

function money(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0').slice(0, 2)}`;
}

/** Strata's admission: reserve (hold) before the call, commit (post) its cost after. */
export async function strataGate(): Promise<GateResult> {
  return onPostgres(async (store) => {
    const billing = await Billing.open({ store });
    await billing.budgets.set({
      tenantId: 't',
      scope: 'tenant',
      period: 'month',
      currency: 'USD',
      limit: LIMIT,
    });
    const request = { tenantId: 't', principalId: 'agent', kind: 'model', syscall: 'model.generate' };
    let admitted = 0;
    const seconds = await pool(ATTEMPTS, CONCURRENCY, async () => {
      const id = await billing.budgets.reserve(request, COST).catch(() => null);
      if (!id) return;
      await billing.budgets.commit('t', id, COST); // the call ran; post its cost
      admitted++;
    });
    const [status] = await billing.budgets.list('t');
    const spent = status?.spent ?? 0n;
    return { perSecond: ATTEMPTS / seconds, admitted, overspend: money(spent > LIMIT ? spent - LIMIT : 0n) };
  });
}

/** The naive gate: read spent, admit if it fits, add the cost after the call. */
export async function naiveGate(): Promise<GateResult> {
  return onPostgres(async (store) => {
    await store.run(
      'CREATE TABLE naive_budget (id TEXT PRIMARY KEY, limit_micros BIGINT NOT NULL, spent BIGINT NOT NULL)',
    );
    await store.run("INSERT INTO naive_budget VALUES ('t', ?, 0)", [LIMIT]);
    let admitted = 0;
    const seconds = await pool(ATTEMPTS, CONCURRENCY, async () => {
      const row = await store.get<{ spent: number; limit_micros: number }>(
        "SELECT spent, limit_micros FROM naive_budget WHERE id = 't'",
      );
      if (!row || BigInt(row.spent) + COST > BigInt(row.limit_micros)) return;
      // the call runs here; its cost is recorded after it
      await store.run("UPDATE naive_budget SET spent = spent + ? WHERE id = 't'", [COST]);
      admitted++;
    });
    const row = await store.get<{ spent: number }>("SELECT spent FROM naive_budget WHERE id = 't'");
    const spent = BigInt(row?.spent ?? 0);
    return { perSecond: ATTEMPTS / seconds, admitted, overspend: money(spent > LIMIT ? spent - LIMIT : 0n) };
  });
}

/** Meter events/s: new, all duplicates again, and the bare INSERT … ON CONFLICT floor. */
export async function meters(): Promise<MeterResult> {
  return onPostgres(async (store) => {
    const now = Date.now();
    const billing = await Billing.open({ store, clock: new ManualClock(now) });
    await billing.meters.define('t', { type: 'tokens', unit: 'token', aggregation: 'sum', description: '' });
    const events: MeterEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
      id: `ev-${i}`,
      type: 'tokens',
      subject: `agent:a${i % 10}`,
      resourceId: `model/m${i % 3}`,
      quantity: String(100 + (i % 900)),
      unit: 'token',
      time: now - (i % 1000),
    }));
    const batches = Array.from({ length: Math.ceil(EVENTS / 100) }, (_, b) =>
      events.slice(b * 100, b * 100 + 100),
    );
    const ingestAll = async (): Promise<{ seconds: number; duplicates: number }> => {
      let duplicates = 0;
      const seconds = await pool(batches.length, 4, async (b) => {
        const result = await billing.meters.ingest('t', batches[b] ?? []);
        duplicates += result.duplicates;
      });
      return { seconds, duplicates };
    };
    const first = await ingestAll();
    const again = await ingestAll();
    await store.run(
      'CREATE TABLE floor_events (tenant_id TEXT, id TEXT, type TEXT, subject TEXT, resource_id TEXT, quantity TEXT, time BIGINT, PRIMARY KEY (tenant_id, id))',
    );
    const floorSeconds = await pool(batches.length, 4, async (b) => {
      const batch = batches[b] ?? [];
      await store.transaction(async (tx) => {
        for (const e of batch)
          await tx.run('INSERT INTO floor_events VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
            't',
            e.id,
            e.type,
            e.subject,
            e.resourceId,
            e.quantity,
            e.time,
          ]);
      });
    });
    return {
      fresh: EVENTS / first.seconds,
      duplicates: EVENTS / again.seconds,
      floor: EVENTS / floorSeconds,
      duplicatesSeen: again.duplicates,
    };
  });
}

/** Ledger transfers/s at WRITERS concurrent writers, and the bare two UPDATEs + INSERT floor. */
export async function transfers(): Promise<LedgerResult> {
  return onPostgres(async (store) => {
    const billing = await Billing.open({ store });
    const { ledger } = billing;
    await ledger.openAccount({ id: 'bank', tenantId: 't', kind: 'external', currency: 'USD' });
    for (let i = 0; i < 100; i++) {
      await ledger.openAccount({
        id: `w${i}`,
        tenantId: 't',
        kind: 'wallet',
        currency: 'USD',
        flags: 'no_overdraft',
      });
      await ledger.transfer({
        id: `fund-${i}`,
        tenantId: 't',
        debitAccountId: 'bank',
        creditAccountId: `w${i}`,
        amount: 1_000_000_000n,
      });
    }
    const pick = (i: number): [string, string] => {
      const a = (i * 7919) % 100;
      const b = (a + 1 + ((i * 104729) % 99)) % 100;
      return [`w${a}`, `w${b}`];
    };
    const strataSeconds = await pool(TRANSFERS, WRITERS, async (i) => {
      const [debit, credit] = pick(i);
      await ledger.transfer({
        id: `tr-${i}`,
        tenantId: 't',
        debitAccountId: debit,
        creditAccountId: credit,
        amount: 12_340n,
      });
    });
    const trial = await ledger.trialBalance('t');
    await store.run('CREATE TABLE floor_accounts (id TEXT PRIMARY KEY, balance BIGINT NOT NULL)');
    await store.run(
      'CREATE TABLE floor_transfers (id TEXT PRIMARY KEY, debit TEXT, credit TEXT, amount BIGINT)',
    );
    for (let i = 0; i < 100; i++)
      await store.run('INSERT INTO floor_accounts VALUES (?, 1000000000)', [`w${i}`]);
    const floorSeconds = await pool(TRANSFERS, WRITERS, async (i) => {
      const [debit, credit] = pick(i);
      await store.transaction(async (tx) => {
        // in id order, so concurrent writers do not deadlock
        for (const id of [debit, credit].sort())
          await tx.run('UPDATE floor_accounts SET balance = balance + ? WHERE id = ?', [
            id === debit ? -12340 : 12340,
            id,
          ]);
        await tx.run('INSERT INTO floor_transfers VALUES (?, ?, ?, 12340)', [`tr-${i}`, debit, credit]);
      });
    });
    return {
      strata: TRANSFERS / strataSeconds,
      floor: TRANSFERS / floorSeconds,
      trialBalanceZero: trial.every((line) => line.difference === 0n),
    };
  });
}

async function main(): Promise<void> {
  log(
    `billing bench: ${ATTEMPTS} admissions at concurrency ${CONCURRENCY}, ${EVENTS} meter events, ${TRANSFERS} transfers at ${WRITERS} writers (PostgreSQL)`,
  );
  const ours = await strataGate();
  const naive = await naiveGate();
  const meter = await meters();
  const ledger = await transfers();

  process.stdout.write(
    table([
      ['measure', 'Strata', 'peer', 'peer is'],
      [
        'admission attempts/s (0.10 vs 20.00, c=50)',
        round(ours.perSecond, 0),
        round(naive.perSecond, 0),
        'naive check-then-record',
      ],
      ['admitted (limit allows 200)', ours.admitted, naive.admitted, ''],
      ['overspend', ours.overspend, naive.overspend, ''],
      [
        'meter events/s, new (batches of 100)',
        round(meter.fresh, 0),
        round(meter.floor, 0),
        'bare INSERT ON CONFLICT',
      ],
      ['meter events/s, all duplicates', round(meter.duplicates, 0), '', `${meter.duplicatesSeen} dedupes`],
      [
        'ledger transfers/s, 20 writers',
        round(ledger.strata, 0),
        round(ledger.floor, 0),
        'bare 2 UPDATE + INSERT',
      ],
    ]) + '\n',
  );
  process.stdout.write(
    JSON.stringify({
      bench: 'billing',
      attempts: ATTEMPTS,
      strataAdmissionsPerSec: round(ours.perSecond, 1),
      strataAdmitted: ours.admitted,
      strataOverspend: ours.overspend,
      naiveAdmissionsPerSec: round(naive.perSecond, 1),
      naiveAdmitted: naive.admitted,
      naiveOverspend: naive.overspend,
      meterEventsPerSec: round(meter.fresh, 1),
      meterDuplicatesPerSec: round(meter.duplicates, 1),
      meterFloorPerSec: round(meter.floor, 1),
      ledgerTransfersPerSec: round(ledger.strata, 1),
      ledgerFloorPerSec: round(ledger.floor, 1),
      trialBalanceZero: ledger.trialBalanceZero,
    }) + '\n',
  );
}

if (isMain(import.meta.url)) await main();
