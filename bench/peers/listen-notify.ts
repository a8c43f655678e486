// The event bus's peer on PostgreSQL: raw LISTEN/NOTIFY with the `pg` client, as a hand-rolled
// dashboard feed would do it. Each transaction is BEGIN, the UPDATE, `SELECT pg_notify(channel,
// event JSON)`, COMMIT (so the notification goes out if and only if the change commits, as an
// outbox row does); subscribers are called from the `notification` event of a LISTEN connection.
//
// 'best' = one dedicated LISTEN connection (node-postgres: a `Client`, never a pooled one, since
//   LISTEN belongs to one server session) whose notifications are parsed once and fanned out in
//   process to every subscriber: one socket read and one JSON.parse per event however many
//   subscribers, and one backend instead of one per open page.
// 'naive' = what the tutorials show per consumer: each subscriber opens its own Client and LISTENs,
//   so PostgreSQL sends every notification once per subscriber and each is parsed on its own.
// Neither config changes what NOTIFY gives: nothing durable (a notification sent while nobody
// listens, or while the listener reconnects, is gone), no resume from a sequence, a payload of at
// most 8,000 bytes, and every notifying commit of the cluster serialized on one lock (async.c).
import pg from 'pg';
import { pacedWrites } from '../_util.ts';

export type ListenConfig = 'none' | 'best' | 'naive';

export const LISTEN_NOTIFY_CONFIGS: Record<Exclude<ListenConfig, 'none'>, string> = {
  best: 'one LISTEN Client, fanned out in process',
  naive: 'one LISTEN Client per subscriber',
};

const CHANNEL = 'strata_bench_events';

interface PeerEvent {
  topic: string;
  tenantId: string;
  payload: { tag: string; n: number };
}

export interface ListenNotifyPass {
  /** CPU of this process (user + system) over the pass, ms. */
  readonly cpuMs: number;
  /** Commit resolved → first subscriber called, per event, sorted ascending (ms). */
  readonly latencies: number[];
  /** Subscriber calls (events × subscribers when nothing was lost). */
  readonly subscriberCalls: number;
}

export interface ListenNotifyOptions {
  readonly url: string;
  /** The writers' pool (sized like the Strata store's: 10). */
  readonly pool: pg.Pool;
  readonly config: ListenConfig;
  readonly subscribers: number;
  readonly events: number;
  readonly writers: number;
  /** Publishes a second, all writers together. */
  readonly rate: number;
  /** Marks this pass's events. */
  readonly tag: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The peer's table, like the Strata pass's `bench_items`. */
export async function prepareListenNotify(pool: pg.Pool): Promise<void> {
  await pool.query('CREATE TABLE peer_items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)');
  await pool.query('INSERT INTO peer_items (id, n) SELECT g, 0 FROM generate_series(0, 49) g');
}

/** The LISTEN connections of `config`, each calling its share of the handlers. */
async function listen(
  url: string,
  config: ListenConfig,
  handlers: ((event: PeerEvent) => void)[],
): Promise<pg.Client[]> {
  if (config === 'none') return [];
  const groups = config === 'best' ? [handlers] : handlers.map((h) => [h]);
  return Promise.all(
    groups.map(async (group) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      client.on('notification', (message) => {
        const event = JSON.parse(message.payload ?? 'null') as PeerEvent;
        // The filter a feed would apply: what a `run:*` subscription of the bus receives.
        if (!event.topic.startsWith('run:')) return;
        for (const handler of group) handler(event);
      });
      await client.query(`LISTEN ${CHANNEL}`);
      return client;
    }),
  );
}

export async function listenNotifyPass(options: ListenNotifyOptions): Promise<ListenNotifyPass> {
  const { pool, config, events, writers, rate, tag } = options;
  const subscribers = config === 'none' ? 0 : options.subscribers;
  const committedAt = new Map<number, number>();
  const deliveredAt = new Map<number, number>();
  let calls = 0;
  const handlers = Array.from({ length: subscribers }, () => (event: PeerEvent) => {
    calls++;
    const { tag: t, n } = event.payload;
    if (t === tag && !deliveredAt.has(n)) deliveredAt.set(n, performance.now());
  });
  const clients = await listen(options.url, config, handlers);
  const cpuBefore = process.cpuUsage();
  await pacedWrites({ writers, events, rate }, async (n) => {
    const event: PeerEvent = { topic: 'run:changed', tenantId: `t${n % 10}`, payload: { tag, n } };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE peer_items SET n = n + 1 WHERE id = $1', [n % 50]);
      await client.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify(event)]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    committedAt.set(n, performance.now());
  });
  const deadline = Date.now() + 10_000;
  while (calls < events * subscribers && Date.now() < deadline) await sleep(5);
  await sleep(300); // as the bus's pass: whatever still arrives counts too
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(clients.map((c) => c.end()));
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    // A notification can be read before the writer's COMMIT reply: 0, never negative.
    latencies: [...committedAt]
      .map(([n, at]) => Math.max(0, (deliveredAt.get(n) ?? Infinity) - at))
      .sort((a, b) => a - b),
    subscriberCalls: calls,
  };
}
