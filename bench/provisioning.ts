// bench/provisioning.ts — issue 9's provisioning figures, in sections; `npm run bench -- provisioning
// [section…]` runs the named ones (default: all). Each section returns table rows and JSON figures;
// the table prints first, then one JSON object (every section's figures) as the last line.
//   postgres: time to a usable database = PostgresResourceDriver.create + connect with the returned
//     credentials + SELECT 1, p50/p95 over BENCH_PG_N iterations (default 30, after 2 warm-ups;
//     destroy between, untimed), with the default spare pool (refilled between iterations,
//     untimed) and with spares: 0, against the floor: a bare CREATE DATABASE x TEMPLATE t (same
//     template) + connect + SELECT 1. The three are interleaved so disk noise hits all alike.
//   manager: the same through the whole provisioner — ResourceManager.provision (claim row, driver,
//     sealed secrets, transitions, meter) + use (the credentials) + connect + SELECT 1 — against the
//     bare driver's create + connect + SELECT 1, interleaved, same spare pool, BENCH_PG_N iterations.
//   sqlite: SqliteResourceDriver.create + open + first query, p50/p95 over BENCH_SQLITE_N (default 200).
//   budget, meters, ledger: bench/billing.ts's measurements (sizes from its BENCH_* variables):
//     reservation attempts/s and overspend of Strata's budget admission against a naive
//     check-then-record gate on the same PostgreSQL under the same load; meter events/s with
//     dedupe; ledger transfers/s at 20 concurrent writers, each against its bare-SQL floor.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { systemClock } from '../src/kernel/index.ts';
import { newId } from '../src/kernel/ids.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { DEFAULT_TEMPLATE, PostgresResourceDriver } from '../src/provisioning/resources/drivers/postgres.ts';
import { SqliteResourceDriver } from '../src/provisioning/resources/drivers/sqlite.ts';
import { ResourceManager } from '../src/provisioning/resources/manager.ts';
import { SealedSecretStore } from '../src/provisioning/resources/secrets.ts';
import type { ResourceRef } from '../src/provisioning/resources/types.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import * as billing from './billing.ts';
import { isMain, percentile, round, table } from './_util.ts';

const ADMIN_URL = process.env['STRATA_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_N = Number(process.env['BENCH_PG_N'] ?? 30);
const SQLITE_N = Number(process.env['BENCH_SQLITE_N'] ?? 200);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

export interface SectionResult {
  readonly rows: readonly (readonly (string | number)[])[];
  readonly figures: Readonly<Record<string, unknown>>;
}

export interface Section {
  readonly name: string;
  /** Which table its rows go to: latencies (p50/p95 ms) or throughputs (per second against a peer). */
  readonly table: 'latency' | 'throughput';
  run(): Promise<SectionResult>;
}

interface Percentiles {
  readonly p50: number;
  readonly p95: number;
}

function summarize(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)) };
}

/** A latency row; `versus` reads like "1.2× floor". */
function row(label: string, times: Percentiles, versus = '', target = ''): (string | number)[] {
  return [label, times.p50, times.p95, versus, target];
}

const newRef = (tenantId: string): ResourceRef => ({
  id: newId('res'),
  tenantId,
  name: 'bench',
  config: {},
  handle: {},
});

async function connectAndSelect(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
}

/** One timed Strata provision (create + connect + SELECT 1); returns [total, create] ms. */
async function strataSample(driver: PostgresResourceDriver): Promise<[number, number]> {
  const ref = newRef('bench');
  const started = performance.now();
  const { secrets } = await driver.create(ref);
  const created = performance.now();
  await connectAndSelect(secrets['DATABASE_URL'] ?? '');
  const total = performance.now() - started;
  await driver.destroy(ref);
  return [total, created - started];
}

/** One timed floor: bare CREATE DATABASE from the same template, connect as the admin, SELECT 1. */
async function floorSample(admin: pg.Client, namespace: string): Promise<number> {
  const name = `${namespace}_floor_${randomBytes(4).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const started = performance.now();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${DEFAULT_TEMPLATE}`);
  await connectAndSelect(url.toString());
  const total = performance.now() - started;
  await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
  return total;
}

export const postgresSection: Section = {
  name: 'postgres',
  table: 'latency',
  async run() {
    const namespace = `stratabench${randomBytes(3).toString('hex')}`;
    const pooled = new PostgresResourceDriver({ adminUrl: ADMIN_URL, namespace });
    const direct = new PostgresResourceDriver({ adminUrl: ADMIN_URL, namespace, spares: 0 });
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    const samples = {
      pooled: [] as number[],
      pooledCreate: [] as number[],
      direct: [] as number[],
      floor: [] as number[],
    };
    try {
      await pooled.warm(); // the template and the spares exist before the first timed create
      for (let i = -2; i < PG_N; i++) {
        const record = i >= 0;
        // rotate the order so no kind always runs right after another's DROP DATABASE
        const steps = [
          async () => {
            await pooled.warm(); // untimed: the pool is refilled between provisions
            const [total, create] = await strataSample(pooled);
            if (!record) return;
            samples.pooled.push(total);
            samples.pooledCreate.push(create);
          },
          async () => {
            const [total] = await strataSample(direct);
            if (record) samples.direct.push(total);
          },
          async () => {
            const total = await floorSample(admin, namespace);
            if (record) samples.floor.push(total);
          },
        ];
        for (let s = 0; s < steps.length; s++) await steps[(s + Math.max(i, 0)) % steps.length]?.();
        if (record && (i + 1) % 10 === 0) log(`postgres: ${i + 1}/${PG_N}`);
      }
    } finally {
      await pooled.drain();
      await Promise.all([pooled.close(), direct.close(), admin.end()]);
    }
    const spared = summarize(samples.pooled);
    const sparedCreate = summarize(samples.pooledCreate);
    const cloned = summarize(samples.direct);
    const floor = summarize(samples.floor);
    const ratio = round(spared.p50 / floor.p50);
    const clonedRatio = round(cloned.p50 / floor.p50);
    return {
      rows: [
        row(
          'PostgreSQL usable (create+connect+SELECT 1), spares',
          spared,
          `${ratio}× floor`,
          'p50 < 100 ms, ≤ 1.5× floor',
        ),
        row('  of which driver.create', sparedCreate),
        row(
          'PostgreSQL usable, spares: 0 (CREATE DATABASE)',
          cloned,
          `${clonedRatio}× floor`,
          '≤ 1.5× floor',
        ),
        row('floor: CREATE DATABASE … TEMPLATE + connect + SELECT 1', floor),
      ],
      figures: {
        pgIterations: PG_N,
        pgP50Ms: spared.p50,
        pgP95Ms: spared.p95,
        pgCreateP50Ms: sparedCreate.p50,
        pgNoSparesP50Ms: cloned.p50,
        pgNoSparesP95Ms: cloned.p95,
        pgFloorP50Ms: floor.p50,
        pgFloorP95Ms: floor.p95,
        pgRatioToFloor: ratio,
        pgNoSparesRatioToFloor: clonedRatio,
        pgMeetsTargets: spared.p50 < 100 && ratio <= 1.5,
      },
    };
  },
};

export const sqliteSection: Section = {
  name: 'sqlite',
  table: 'latency',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-sqlite-'));
    const driver = new SqliteResourceDriver({ dir });
    const samples: number[] = [];
    try {
      for (let i = -5; i < SQLITE_N; i++) {
        const ref = newRef('bench');
        const started = performance.now();
        const { env } = await driver.create(ref);
        const db = new Database(env['SQLITE_PATH'] ?? '', { fileMustExist: true });
        db.prepare('SELECT count(*) FROM strata_meta').get();
        const total = performance.now() - started;
        db.close();
        await driver.destroy(ref);
        if (i >= 0) samples.push(total);
      }
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const { p50, p95 } = summarize(samples);
    return {
      rows: [row('SQLite usable (create+open+first query)', { p50, p95 }, undefined, 'p50 < 5 ms')],
      figures: { sqliteIterations: SQLITE_N, sqliteP50Ms: p50, sqliteP95Ms: p95, sqliteMeetsTarget: p50 < 5 },
    };
  },
};

const MANAGER_TENANT = 'ten_bench';

/** One timed provision through the manager (provision + use + connect + SELECT 1); [total, provision] ms. */
async function managerSample(manager: ResourceManager, name: string): Promise<[number, number]> {
  const started = performance.now();
  const resource = await manager.provision(MANAGER_TENANT, { kind: 'postgres', name });
  const provisioned = performance.now();
  try {
    const { env } = await manager.use(MANAGER_TENANT, resource.id); // the credentials, as an agent gets them
    const url = env['DATABASE_URL'];
    if (url === undefined) throw new Error(`resource ${resource.id} has no DATABASE_URL`);
    await connectAndSelect(url);
    return [performance.now() - started, provisioned - started];
  } finally {
    await manager.destroy(MANAGER_TENANT, resource.id, { wait: true });
  }
}

export const managerSection: Section = {
  name: 'manager',
  table: 'latency',
  async run() {
    const db = await createTestDatabase(); // the manager's own store: rows, transitions, sealed secrets
    const store = await createPostgresStore({ connectionString: db.url });
    const driver = new PostgresResourceDriver({
      adminUrl: ADMIN_URL,
      namespace: `stratabench${randomBytes(3).toString('hex')}`,
    });
    const secrets = new SealedSecretStore({ store, masterKey: randomBytes(32), clock: systemClock });
    const samples = { manager: [] as number[], provision: [] as number[], bare: [] as number[] };
    try {
      const manager = await ResourceManager.open({ store, drivers: [driver], secrets });
      await driver.warm();
      for (let i = -2; i < PG_N; i++) {
        const record = i >= 0;
        const steps = [
          async () => {
            await driver.warm(); // untimed, as for the bare driver
            const [total, provision] = await managerSample(manager, `bench${i + 2}`);
            if (!record) return;
            samples.manager.push(total);
            samples.provision.push(provision);
          },
          async () => {
            await driver.warm();
            const [total] = await strataSample(driver);
            if (record) samples.bare.push(total);
          },
        ];
        // alternate which goes first, so neither always follows the other's DROP DATABASE
        for (let s = 0; s < steps.length; s++) await steps[(s + Math.max(i, 0)) % steps.length]?.();
        if (record && (i + 1) % 10 === 0) log(`manager: ${i + 1}/${PG_N}`);
      }
      await manager.idle();
    } finally {
      await driver.drain();
      await driver.close();
      await store.close();
      await db.drop();
    }
    const managed = summarize(samples.manager);
    const provision = summarize(samples.provision);
    const bare = summarize(samples.bare);
    const overhead = round(managed.p50 / bare.p50);
    return {
      rows: [
        row('ResourceManager provision+use+connect+SELECT 1', managed, `${overhead}× bare driver`),
        row('  of which manager.provision', provision),
        row('  bare driver (same pool, interleaved)', bare),
      ],
      figures: {
        managerP50Ms: managed.p50,
        managerP95Ms: managed.p95,
        managerProvisionP50Ms: provision.p50,
        managerProvisionP95Ms: provision.p95,
        managerBareDriverP50Ms: bare.p50,
        managerBareDriverP95Ms: bare.p95,
        managerRatioToBareDriver: overhead,
        managerOverheadP50Ms: round(managed.p50 - bare.p50),
      },
    };
  },
};

/** Strata ÷ peer, 2 decimals. */
const ratio = (strata: number, peer: number): number => round(strata / peer);

/** A throughput row: Strata's and its peer's rate per second, and their ratio. */
function rate(label: string, strata: number, peer: number, peerIs: string): (string | number)[] {
  return [label, round(strata, 0), round(peer, 0), ratio(strata, peer), peerIs];
}

export const budgetSection: Section = {
  name: 'budget',
  table: 'throughput',
  async run() {
    const ours = await billing.strataGate();
    const naive = await billing.naiveGate();
    const limitAllows = Number(billing.LIMIT / billing.COST);
    return {
      rows: [
        rate(
          `budget reservation attempts, c=${billing.CONCURRENCY}`,
          ours.perSecond,
          naive.perSecond,
          'naive check-then-record',
        ),
        [
          `  admitted (0.10 each; 20.00 allows ${limitAllows})`,
          `${ours.admitted}`,
          `${naive.admitted}`,
          '',
          '',
        ],
        ['  overspend (must be 0.00)', ours.overspend, naive.overspend, '', 'same PostgreSQL and load'],
      ],
      figures: {
        budgetAttempts: billing.ATTEMPTS,
        budgetConcurrency: billing.CONCURRENCY,
        budgetLimitAllows: limitAllows,
        strataReservationsPerSec: round(ours.perSecond, 1),
        naiveReservationsPerSec: round(naive.perSecond, 1),
        reservationsRatioStrataToNaive: ratio(ours.perSecond, naive.perSecond),
        strataAdmitted: ours.admitted,
        naiveAdmitted: naive.admitted,
        strataOverspend: ours.overspend,
        naiveOverspend: naive.overspend,
        strataOverspendIsZero: ours.overspend === '0.00',
        naiveOverspent: naive.overspend !== '0.00',
      },
    };
  },
};

export const meterSection: Section = {
  name: 'meters',
  table: 'throughput',
  async run() {
    const meter = await billing.meters();
    return {
      rows: [
        rate(
          'meter events, new (dedupe on, batches of 100)',
          meter.fresh,
          meter.floor,
          'bare INSERT ON CONFLICT',
        ),
        [
          '  the same events again',
          round(meter.duplicates, 0),
          '',
          '',
          `${meter.duplicatesSeen}/${billing.EVENTS} deduped`,
        ],
      ],
      figures: {
        meterEvents: billing.EVENTS,
        meterEventsPerSec: round(meter.fresh, 1),
        meterDuplicatesPerSec: round(meter.duplicates, 1),
        meterFloorPerSec: round(meter.floor, 1),
        meterRatioToFloor: ratio(meter.fresh, meter.floor),
        meterDuplicatesSeen: meter.duplicatesSeen,
      },
    };
  },
};

export const ledgerSection: Section = {
  name: 'ledger',
  table: 'throughput',
  async run() {
    const ledger = await billing.transfers();
    return {
      rows: [
        rate(
          `ledger transfers, ${billing.WRITERS} writers`,
          ledger.strata,
          ledger.floor,
          'bare 2 UPDATE + INSERT',
        ),
      ],
      figures: {
        ledgerTransfers: billing.TRANSFERS,
        ledgerWriters: billing.WRITERS,
        ledgerTransfersPerSec: round(ledger.strata, 1),
        ledgerFloorPerSec: round(ledger.floor, 1),
        ledgerRatioToFloor: ratio(ledger.strata, ledger.floor),
        trialBalanceZero: ledger.trialBalanceZero,
      },
    };
  },
};

export const SECTIONS: readonly Section[] = [
  postgresSection,
  managerSection,
  sqliteSection,
  budgetSection,
  meterSection,
  ledgerSection,
];

const HEADERS: Record<Section['table'], readonly string[]> = {
  latency: ['measure', 'p50 ms', 'p95 ms', 'ratio', 'target'],
  throughput: ['measure (per second)', 'Strata', 'peer', 'Strata ÷ peer', 'peer is'],
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SECTIONS.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}\n`,
    );
    process.exit(2);
  }
  const rows: Record<Section['table'], (readonly (string | number)[])[]> = { latency: [], throughput: [] };
  const figures: Record<string, unknown> = { bench: 'provisioning' };
  for (const section of SECTIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
    log(`provisioning bench: ${section.name} …`);
    const result = await section.run();
    rows[section.table].push(...result.rows);
    Object.assign(figures, result.figures);
  }
  const tables = (['latency', 'throughput'] as const)
    .filter((kind) => rows[kind].length > 0)
    .map((kind) => table([HEADERS[kind], ...rows[kind]]));
  process.stdout.write(`${tables.join('\n\n')}\n`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (isMain(import.meta.url)) await main();
