// bench/provisioning.ts — issue 9's provisioning figures, in sections; `npm run bench -- provisioning
// [section…]` runs the named ones (default: all). Each section returns table rows and JSON figures;
// the table prints first, then one JSON object (every section's figures) as the last line.
//   postgres: time to a usable database = PostgresResourceDriver.create + connect with the returned
//     credentials + SELECT 1, p50/p95 over BENCH_PG_N iterations (default 30, after 2 warm-ups;
//     destroy between, untimed), with the default spare pool (refilled between iterations,
//     untimed) and with spares: 0, against the floor: a bare CREATE DATABASE x TEMPLATE t (same
//     template) + connect + SELECT 1. The three are interleaved so disk noise hits all alike.
//   sqlite: SqliteResourceDriver.create + open + first query, p50/p95 over BENCH_SQLITE_N (default 200).
// Still to add here (issue 9): reservations/s and overspend against a naive gate, meter events/s,
// ledger transfers/s — bench/billing.ts measures them but exports no functions yet.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../src/kernel/ids.ts';
import { DEFAULT_TEMPLATE, PostgresResourceDriver } from '../src/provisioning/resources/drivers/postgres.ts';
import { SqliteResourceDriver } from '../src/provisioning/resources/drivers/sqlite.ts';
import type { ResourceRef } from '../src/provisioning/resources/types.ts';
import { percentile, round, table } from './_util.ts';

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

function row(label: string, times: Percentiles, ratioToFloor?: number, target = ''): (string | number)[] {
  return [label, times.p50, times.p95, ratioToFloor === undefined ? '' : `${ratioToFloor}× floor`, target];
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
          ratio,
          'p50 < 100 ms, ≤ 1.5× floor',
        ),
        row('  of which driver.create', sparedCreate),
        row('PostgreSQL usable, spares: 0 (CREATE DATABASE)', cloned, clonedRatio, '≤ 1.5× floor'),
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

export const SECTIONS: readonly Section[] = [postgresSection, sqliteSection];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !SECTIONS.some((s) => s.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}
const rows: (readonly (string | number)[])[] = [['measure', 'p50 ms', 'p95 ms', 'vs floor', 'target']];
const figures: Record<string, unknown> = { bench: 'provisioning' };
for (const section of SECTIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  log(`provisioning bench: ${section.name} …`);
  const result = await section.run();
  rows.push(...result.rows);
  Object.assign(figures, result.figures);
}
process.stdout.write(`${table(rows)}\n`);
process.stdout.write(`${JSON.stringify(figures)}\n`);
