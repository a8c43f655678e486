// bench/syscall.ts — syscalls per second through the full kernel pipeline (validate, authorize,
// journal/budget hooks, execute, meter, metrics, trace span, hash-chained audit entry committed
// before returning) on SQLite and on PostgreSQL, against calling the handler directly.
//
// The audit write is NOT batched for a sequential caller: each call commits its own audit entry
// (one transaction) before it returns. Concurrent callers share commits (group commit), which the
// "concurrent" rows show. No entry is ever acknowledged before it is durable in the store.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel, type Principal, type Store } from '../src/kernel/index.ts';
import { echo } from '../src/kernel/builtins/basic.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { percentile, round, table } from './_util.ts';

const SEQUENTIAL = Number(process.env['BENCH_SYSCALL_N'] ?? 20_000);
const CONCURRENCY = 64;

async function setup(store: Store): Promise<{ kernel: Kernel; principal: Principal }> {
  const kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
  const tenant = await kernel.principals.createTenant('bench');
  const { key } = await kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'bench',
    grants: [{ syscall: 'kernel.*', resource: '*' }],
  });
  return { kernel, principal: await kernel.authenticate({ apiKey: key }) };
}

function directPerCallUs(n: number): number {
  const ctx = {} as Parameters<typeof echo.handler>[1];
  const started = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++)
    sink += (echo.handler({ message: 'x' }, ctx) as { message: string }).message.length;
  if (sink !== n) throw new Error('unreachable');
  return ((performance.now() - started) * 1000) / n;
}

interface Figures {
  perCallUs: number;
  p50Us: number;
  p99Us: number;
  callsPerS: number;
  concurrentCallsPerS: number;
}

async function measure(kernel: Kernel, principal: Principal, n: number): Promise<Figures> {
  const input = { message: 'x' };
  for (let i = 0; i < Math.min(2000, n); i++) await kernel.call('kernel.echo', input, { principal });
  const samples = new Float64Array(n);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await kernel.call('kernel.echo', input, { principal });
    samples[i] = (performance.now() - t0) * 1000;
  }
  const elapsed = performance.now() - started;
  const sorted = [...samples].sort((a, b) => a - b);
  const concurrentTotal = n;
  const cStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < concurrentTotal) await kernel.call('kernel.echo', input, { principal });
    }),
  );
  const cElapsed = performance.now() - cStarted;
  return {
    perCallUs: (elapsed * 1000) / n,
    p50Us: percentile(sorted, 50),
    p99Us: percentile(sorted, 99),
    callsPerS: n / (elapsed / 1000),
    concurrentCallsPerS: concurrentTotal / (cElapsed / 1000),
  };
}

const direct = directPerCallUs(1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
const sqlite = await setup(await createSqliteStore({ path: join(dir, 'bench.db') }));
const s = await measure(sqlite.kernel, sqlite.principal, SEQUENTIAL);
const sqliteVerdict = await sqlite.kernel.audit.verify(sqlite.principal.tenantId);
await sqlite.kernel.close();
rmSync(dir, { recursive: true, force: true });

const db = await createTestDatabase();
const pg = await setup(await createPostgresStore({ connectionString: db.url, poolSize: 16 }));
const p = await measure(pg.kernel, pg.principal, Math.round(SEQUENTIAL / 4));
const pgVerdict = await pg.kernel.audit.verify(pg.principal.tenantId);
await pg.kernel.close();
await db.drop();

const overheadSqlite = s.perCallUs - direct;
const overheadPg = p.perCallUs - direct;
process.stdout.write(
  `\nkernel.echo through the full pipeline (audit entry committed per call; group commit when concurrent)\n\n` +
    table([
      [
        'engine',
        'calls/s (1 caller)',
        `calls/s (${CONCURRENCY} callers)`,
        'µs/call',
        'p50 µs',
        'p99 µs',
        'overhead µs',
      ],
      ['direct handler', 1e6 / direct, '-', direct, '-', '-', 0],
      ['sqlite', s.callsPerS, s.concurrentCallsPerS, s.perCallUs, s.p50Us, s.p99Us, overheadSqlite],
      ['postgres', p.callsPerS, p.concurrentCallsPerS, p.perCallUs, p.p50Us, p.p99Us, overheadPg],
    ]) +
    `\n\naudit chains verified: sqlite ${sqliteVerdict.entries} entries ok=${sqliteVerdict.ok}, postgres ${pgVerdict.entries} entries ok=${pgVerdict.ok}\n` +
    `target: overhead < 50 µs per call on SQLite → ${overheadSqlite < 50 ? 'met' : 'NOT met'}\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'syscall',
    audit_write: 'per call, committed before return; group commit when concurrent',
    direct_handler_us: round(direct, 3),
    sqlite_calls_per_s: Math.round(s.callsPerS),
    sqlite_concurrent_calls_per_s: Math.round(s.concurrentCallsPerS),
    sqlite_overhead_us: round(overheadSqlite),
    sqlite_p50_us: round(s.p50Us),
    sqlite_p99_us: round(s.p99Us),
    postgres_calls_per_s: Math.round(p.callsPerS),
    postgres_concurrent_calls_per_s: Math.round(p.concurrentCallsPerS),
    postgres_overhead_us: round(overheadPg),
    postgres_p50_us: round(p.p50Us),
    postgres_p99_us: round(p.p99Us),
    ratio_pipeline_vs_direct_sqlite: round(s.perCallUs / direct, 1),
    audit_chains_ok: sqliteVerdict.ok && pgVerdict.ok,
  }) + '\n',
);
