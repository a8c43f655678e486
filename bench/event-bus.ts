// bench/event-bus.ts — what the kernel event bus's own delivery costs, on SQLite and PostgreSQL:
// BENCH_EVENTS (default 1000) transactions by 4 writers at BENCH_RATE (default 250) a second, each
// an UPDATE and one publish (a run's status change and its `run:changed`), with 10 subscribers (10 open dashboards of 10 tenants),
// then the same with 0 subscribers (the bus then dispatches nothing). Figures, per publish:
// - the bus's calls on the store (its outbox reads and delivered-marks; publishes go through the
//   transaction and are not counted) and its dispatches;
// - CPU of this process with 10 subscribers minus with none, 3 rounds alternated, the median
//   (process.cpuUsage: CPU time, not wall time, so it holds up on a busy machine better than the
//   dashboard bench's windows);
// - commit to delivery (the transaction resolved → the first subscriber called), p50 / p95;
// and a transaction of 10 publishes: its dispatches.
// Peer, on PostgreSQL, in the same rounds (alternated with the bus's passes): raw LISTEN/NOTIFY with
// the `pg` client (bench/peers/listen-notify.ts: `pg_notify` in the UPDATE's transaction, the same
// writers, rate and 10 subscribers, the same CPU and commit-to-first-subscriber measures), in its
// best configuration (one LISTEN connection fanned out in process) and its naive one (a connection
// per subscriber); the ratios are the bus's figures over the best's. No peer on SQLite: it has no
// notification channel between connections, so a feed there polls or is in process, as the bus is.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { systemClock } from '../src/kernel/clock.ts';
import { EventBus } from '../src/kernel/events/bus.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import type { Store } from '../src/kernel/store/store.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { pacedWrites, percentile, round, table } from './_util.ts';
import {
  LISTEN_NOTIFY_CONFIGS,
  listenNotifyPass,
  prepareListenNotify,
  type ListenConfig,
  type ListenNotifyPass,
} from './peers/listen-notify.ts';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 1000);
const ROUNDS = 3;
/** Publishes a second, all writers together: the dashboard bench's 50 agents make ~250. */
const RATE = Number(process.env['BENCH_RATE'] ?? 250);
const WRITERS = 4;
const SUBSCRIBERS = 10;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store with its calls counted (the bus's own statements: its dispatch reads and marks). */
function counted(store: Store): { store: Store; calls: () => number; reads: () => number } {
  let calls = 0;
  let reads = 0;
  const proxy = new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (key !== 'all' && key !== 'get' && key !== 'run') return bound;
      return (...args: unknown[]) => {
        calls++;
        if (key !== 'run') reads++;
        return bound(...args);
      };
    },
  });
  return { store: proxy, calls: () => calls, reads: () => reads };
}

interface Pass {
  cpuMs: number;
  busCalls: number;
  busReads: number;
  dispatches: number;
  latencies: number[];
}

async function pass(raw: Store, subscribers: number, tag: string, events = EVENTS): Promise<Pass> {
  const { store, calls, reads } = counted(raw);
  const bus = await EventBus.open({ store, clock: systemClock });
  await bus.recover();
  let dispatches = 0;
  const dispatch = bus.dispatch.bind(bus);
  bus.dispatch = (limit?: number) => (dispatches++, dispatch(limit));
  const committedAt = new Map<number, number>();
  const deliveredAt = new Map<number, number>();
  for (let i = 0; i < subscribers; i++) {
    bus.subscribe('run:*', (e) => {
      if (i === 0 && (e.payload as { tag?: string }).tag === tag) deliveredAt.set(e.seq, performance.now());
    });
  }
  const callsBefore = calls();
  const readsBefore = reads();
  const cpuBefore = process.cpuUsage();
  await pacedWrites({ writers: WRITERS, events, rate: RATE }, async (n) => {
    const seq = await raw.transaction(async (tx) => {
      await tx.run('UPDATE bench_items SET n = n + 1 WHERE id = ?', [n % 50]);
      return bus.publish(tx, { topic: 'run:changed', tenantId: `t${n % 10}`, payload: { tag, n } });
    });
    committedAt.set(seq, performance.now());
  });
  const deadline = Date.now() + 10_000;
  while (subscribers > 0 && deliveredAt.size < events && Date.now() < deadline) await sleep(5);
  if (subscribers > 0 && deliveredAt.size < events)
    log(`  ${deliveredAt.size} of ${events} delivered on their own`);
  await sleep(300); // whatever the bus still does on its own (retries) counts too
  const cpu = process.cpuUsage(cpuBefore);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    busCalls: calls() - callsBefore,
    busReads: reads() - readsBefore,
    dispatches,
    latencies: [...committedAt]
      .map(([seq, at]) => Math.max(0, (deliveredAt.get(seq) ?? Infinity) - at))
      .sort((a, b) => a - b),
  };
}

/** Dispatches the bus runs on its own for one transaction of 10 publishes. */
async function batchDispatches(raw: Store): Promise<number> {
  const bus = await EventBus.open({ store: raw, clock: systemClock });
  await bus.recover();
  let dispatches = 0;
  const dispatch = bus.dispatch.bind(bus);
  bus.dispatch = (limit?: number) => (dispatches++, dispatch(limit));
  let seen = 0;
  bus.subscribe('run:*', () => void seen++);
  await raw.transaction(async (tx) => {
    for (let i = 0; i < 10; i++) await bus.publish(tx, { topic: 'run:batch', tenantId: 't0', payload: i });
  });
  while (seen < 10) await sleep(1);
  await sleep(300);
  return dispatches;
}

/** A peer measured in the same rounds as the bus: a warm-up, then its passes of one round. */
interface Peer {
  warm(): Promise<void>;
  round(round: number): Promise<void>;
}

async function measure(store: Store, peer?: Peer) {
  await store.run('CREATE TABLE bench_items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)');
  for (let i = 0; i < 50; i++) await store.run('INSERT INTO bench_items (id, n) VALUES (?, 0)', [i]);
  await pass(store, SUBSCRIBERS, 'warm', 200);
  await peer?.warm();
  // Alternated, and the median of the differences: the machine's load drifts from pass to pass.
  const passes: { idle: Pass; busy: Pass }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const idle = await pass(store, 0, `idle${round}`);
    passes.push({ idle, busy: await pass(store, SUBSCRIBERS, `busy${round}`) });
    await peer?.round(round);
  }
  const sum = (f: (p: Pass) => number) => passes.reduce((n, p) => n + f(p.busy), 0) / passes.length;
  const cpuUsPerPublish = passes
    .map((p) => ((p.busy.cpuMs - p.idle.cpuMs) * 1000) / EVENTS)
    .sort((a, b) => a - b);
  return {
    calls: sum((p) => p.busCalls) / EVENTS,
    reads: sum((p) => p.busReads) / EVENTS,
    dispatches: sum((p) => p.dispatches) / EVENTS,
    cpuUs: percentile(cpuUsPerPublish, 50),
    busyCpuMs: sum((p) => p.cpuMs),
    idleCpuMs: passes.reduce((n, p) => n + p.idle.cpuMs, 0) / passes.length,
    latencies: passes.flatMap((p) => p.busy.latencies).sort((a, b) => a - b),
    batch: await batchDispatches(store),
  };
}

/** LISTEN/NOTIFY on the same database: per round a pass with no listener, then each config. */
function listenNotifyPeer(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const rounds: Record<ListenConfig, ListenNotifyPass[]> = { none: [], best: [], naive: [] };
  const run = async (config: ListenConfig, tag: string, events = EVENTS): Promise<ListenNotifyPass> => {
    const options = {
      url,
      pool,
      config,
      subscribers: SUBSCRIBERS,
      events,
      writers: WRITERS,
      rate: RATE,
      tag,
    };
    const result = await listenNotifyPass(options);
    if (config !== 'none' && result.subscriberCalls < events * SUBSCRIBERS)
      log(`  LISTEN/NOTIFY ${config}: ${result.subscriberCalls} of ${events * SUBSCRIBERS} subscriber calls`);
    return result;
  };
  const peer: Peer = {
    async warm() {
      await prepareListenNotify(pool);
      await run('best', 'warm', 100);
      await run('naive', 'warm', 100);
    },
    async round(round) {
      for (const config of ['none', 'best', 'naive'] as const)
        rounds[config].push(await run(config, `${config}${round}`));
    },
  };
  const figures = (config: 'best' | 'naive') => ({
    cpuUs: percentile(
      rounds[config]
        .map((p, i) => ((p.cpuMs - (rounds.none[i]?.cpuMs ?? NaN)) * 1000) / EVENTS)
        .sort((a, b) => a - b),
      50,
    ),
    latencies: rounds[config].flatMap((p) => p.latencies).sort((a, b) => a - b),
  });
  return { peer, close: () => pool.end(), figures };
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
log(`sqlite: ${EVENTS} publishes ...`);
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-bus-'));
const sqlite = await createSqliteStore({ path: join(dir, 'bus.db') });
results['sqlite'] = await measure(sqlite);
await sqlite.close();
rmSync(dir, { recursive: true, force: true });
log(`postgres: ${EVENTS} publishes, the bus and LISTEN/NOTIFY alternated ...`);
const db = await createTestDatabase();
const pgStore = await createPostgresStore({ connectionString: db.url });
const listenNotify = listenNotifyPeer(db.url);
const strataPg = await measure(pgStore, listenNotify.peer);
results['postgres'] = strataPg;
await pgStore.close();
await listenNotify.close();
await db.drop();
const peers = { best: listenNotify.figures('best'), naive: listenNotify.figures('naive') };

type Result = Awaited<ReturnType<typeof measure>>;
const ratios = {
  p50: percentile(strataPg.latencies, 50) / percentile(peers.best.latencies, 50),
  p95: percentile(strataPg.latencies, 95) / percentile(peers.best.latencies, 95),
  cpu: strataPg.cpuUs / peers.best.cpuUs,
};
const per = (f: (r: Result) => number): number[] =>
  ['sqlite', 'postgres'].map((d) => round(f(results[d] as Result)));
const peerCells = (f: (p: (typeof peers)['best']) => number): number[] => [
  round(f(peers.best)),
  round(f(peers.naive)),
];
const none = ['-', '-', '-'];
console.log(
  table([
    [
      'figure (per publish, 10 subscribers)',
      'sqlite',
      'postgres',
      'pg NOTIFY best',
      'pg NOTIFY naive',
      'postgres ÷ best',
    ],
    ['bus outbox reads', ...per((r) => r.reads), ...none],
    ['bus store calls (reads + delivered marks)', ...per((r) => r.calls), ...none],
    ['bus dispatches', ...per((r) => r.dispatches), ...none],
    [
      'delivery CPU, median of 3 (µs)',
      ...per((r) => r.cpuUs),
      ...peerCells((p) => p.cpuUs),
      round(ratios.cpu),
    ],
    [
      'commit to delivery p50 (ms)',
      ...per((r) => percentile(r.latencies, 50)),
      ...peerCells((p) => percentile(p.latencies, 50)),
      round(ratios.p50),
    ],
    [
      'commit to delivery p95 (ms)',
      ...per((r) => percentile(r.latencies, 95)),
      ...peerCells((p) => percentile(p.latencies, 95)),
      round(ratios.p95),
    ],
    ['dispatches for 1 tx of 10 publishes', ...per((r) => r.batch), ...none],
  ]),
);
console.log(
  [
    '',
    `pg NOTIFY best: ${LISTEN_NOTIFY_CONFIGS.best}; naive: ${LISTEN_NOTIFY_CONFIGS.naive}. Both: pg_notify in the`,
    "UPDATE's transaction, the event as JSON payload. What the peer does not give: no durable outbox (a",
    'notification sent while no connection listens, or while the listener reconnects, is lost), no resume',
    'from a sequence after a disconnect, payloads of at most 8,000 bytes, PostgreSQL only. No peer on',
    "SQLite: it has no channel between connections to notify on. Naive's latency is the first of its",
    '10 connections to read the notification.',
  ].join('\n'),
);
const figures: Record<string, number> = { events: EVENTS, rate: RATE, subscribers: SUBSCRIBERS };
for (const d of ['sqlite', 'postgres']) {
  const r = results[d] as Result;
  figures[`${d}_outbox_reads_per_publish`] = round(r.reads, 3);
  figures[`${d}_bus_store_calls_per_publish`] = round(r.calls, 3);
  figures[`${d}_dispatches_per_publish`] = round(r.dispatches, 3);
  figures[`${d}_delivery_cpu_us_per_publish`] = round(r.cpuUs, 1);
  figures[`${d}_cpu_ms_10_subscribers`] = round(r.busyCpuMs);
  figures[`${d}_cpu_ms_0_subscribers`] = round(r.idleCpuMs);
  figures[`${d}_commit_to_delivery_p50_ms`] = round(percentile(r.latencies, 50));
  figures[`${d}_commit_to_delivery_p95_ms`] = round(percentile(r.latencies, 95));
  figures[`${d}_dispatches_one_tx_of_10`] = r.batch;
}
for (const config of ['best', 'naive'] as const) {
  const p = peers[config];
  figures[`listen_notify_${config}_delivery_cpu_us_per_publish`] = round(p.cpuUs, 1);
  figures[`listen_notify_${config}_commit_to_delivery_p50_ms`] = round(percentile(p.latencies, 50));
  figures[`listen_notify_${config}_commit_to_delivery_p95_ms`] = round(percentile(p.latencies, 95));
}
figures['postgres_over_listen_notify_best_p50'] = round(ratios.p50);
figures['postgres_over_listen_notify_best_p95'] = round(ratios.p95);
figures['postgres_over_listen_notify_best_cpu'] = round(ratios.cpu);
console.log(JSON.stringify(figures));
