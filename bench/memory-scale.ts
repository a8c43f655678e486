// bench/memory-scale.ts — memory search latency at 10k and 100k memories, and add() throughput,
// on SQLite and on PostgreSQL.
//
//   npm run bench -- memory-scale [--sizes 10000,100000] [--queries 200]
//
// Data: synthetic one-sentence facts from a seeded generator (names, verbs, objects, places,
// dates), all in one user scope of one tenant — the worst case for a scoped search. Memories are
// added through MemoryService.add with infer: false, 200 per call (one transaction each), which
// gives the bulk add throughput; add with infer: true (offline extraction + decisions, one
// 10-message conversation per call) is measured on 2,000 messages. Search runs 200 queries,
// k = 10, after one warm-up query (the first search of a process loads the tenant's index from
// the store: reported as "index load").
//
// Peer, same data, same run: the database's own full-text search alone — SQLite FTS5 `MATCH …
// ORDER BY bm25()` and PostgreSQL `tsvector @@ plainto_tsquery … ORDER BY ts_rank` with a GIN
// index — i.e. what you would get without a memory layer (no vectors, graph, fusion or scoping).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Store } from '../src/kernel/index.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { MemoryService } from '../src/memory/memory.ts';
import type { MessageInput } from '../src/memory/types.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';
import { percentile, round, table } from './_util.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, queries: { type: 'string' } } });
const SIZES = (values.sizes ?? '10000,100000').split(',').map(Number);
const QUERIES = Number(values.queries ?? 200);
const BATCH = 200;

let seed = 42;
const rand = (): number => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const NAMES =
  'Alice Bob Carol Dan Eve Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Yara'.split(
    ' ',
  );
const VERBS =
  'bought visited painted cooked adopted repaired booked learned recommended lost found borrowed sold planned photographed'.split(
    ' ',
  );
const OBJECTS =
  'a red bicycle|the old piano|a pottery vase|sourdough bread|a rescue dog|the garden shed|a sailing boat|a chess set|a mountain cabin|the vintage camera|a wool sweater|a telescope|an electric guitar|a tea set|a kayak|a violin|a bonsai tree|a comic collection|a road map|a sketchbook'.split(
    '|',
  );
const PLACES =
  'Lisbon Oslo Kyoto Quito Nairobi Denver Austin Porto Krakow Hanoi Lyon Bergen Cusco Perth Tbilisi Seville'.split(
    ' ',
  );
const MONTHS = 'January February March April May June July August September October November December'.split(
  ' ',
);
const sentence = (): string =>
  `${pick(NAMES)} ${pick(VERBS)} ${pick(OBJECTS)} in ${pick(PLACES)} in ${pick(MONTHS)} ${2015 + Math.floor(rand() * 10)}`;
const question = (): string =>
  `What did ${pick(NAMES)} ${pick(['buy', 'visit', 'paint', 'cook', 'adopt', 'sell'])} in ${pick(PLACES)}?`;

interface Row {
  engine: string;
  size: number;
  addPerS: number;
  inferPerS: number;
  indexLoadMs: number;
  p50: number;
  p95: number;
  peerP50: number;
  peerP95: number;
}

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

async function run(engine: 'sqlite' | 'postgres', size: number): Promise<Row> {
  let store: Store;
  let cleanup: () => Promise<void>;
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'strata-memscale-'));
    store = await createSqliteStore({ path: join(dir, 'm.db') });
    cleanup = async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const db = await createTestDatabase();
    store = await createPostgresStore({ connectionString: db.url });
    cleanup = async () => {
      await store.close();
      await db.drop();
    };
  }
  try {
    const memory = await MemoryService.open({ store });
    const scope = { userId: 'u1' };
    const texts = Array.from({ length: size }, sentence);
    const t0 = performance.now();
    for (let i = 0; i < size; i += BATCH) {
      await memory.add(
        'bench',
        scope,
        texts.slice(i, i + BATCH).map((content) => ({ content })),
        { infer: false },
      );
    }
    const addPerS = size / ((performance.now() - t0) / 1000);
    // infer: true on a separate scope, 10-message conversations.
    const conv = 2000;
    const t1 = performance.now();
    for (let i = 0; i < conv; i += 10) {
      const messages: MessageInput[] = Array.from({ length: 10 }, () => {
        const s = sentence();
        return { name: s.split(' ')[0] as string, content: `I ${s.split(' ').slice(1).join(' ')}.` };
      });
      await memory.add('bench-infer', { userId: 'u2' }, messages);
    }
    const inferPerS = conv / ((performance.now() - t1) / 1000);
    // Cold index load in a fresh service (a new process), then warm searches.
    const fresh = await MemoryService.open({ store });
    const t2 = performance.now();
    await fresh.search('bench', scope, 'warm up', { k: 10 });
    const indexLoadMs = performance.now() - t2;
    const questions = Array.from({ length: QUERIES }, question);
    const strata = await timed(QUERIES, (i) =>
      fresh.search('bench', scope, questions[i] as string, { k: 10 }),
    );
    // Peer: the database's own full text over the same texts.
    let peer: { p50: number; p95: number };
    if (engine === 'sqlite') {
      await store.run('CREATE VIRTUAL TABLE peer_fts USING fts5(text)');
      await store.transaction(async (tx) => {
        for (const t of texts) await tx.run('INSERT INTO peer_fts (text) VALUES (?)', [t]);
      });
      const match = (q: string): string =>
        (q.toLowerCase().match(/[a-z0-9]+/g) ?? []).map((w) => `"${w}"`).join(' OR ');
      peer = await timed(QUERIES, (i) =>
        store.all(
          'SELECT rowid, text FROM peer_fts WHERE peer_fts MATCH ? ORDER BY bm25(peer_fts) LIMIT 10',
          [match(questions[i] as string)],
        ),
      );
    } else {
      await store.run(
        "CREATE TABLE peer_fts (id SERIAL PRIMARY KEY, text TEXT, tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)",
      );
      await store.transaction(async (tx) => {
        for (let i = 0; i < texts.length; i += 1000) {
          const chunk = texts.slice(i, i + 1000);
          await tx.run(`INSERT INTO peer_fts (text) VALUES ${chunk.map(() => '(?)').join(', ')}`, chunk);
        }
      });
      await store.run('CREATE INDEX peer_fts_gin ON peer_fts USING GIN (tsv)');
      await store.run('ANALYZE peer_fts');
      // OR of the words (plainto_tsquery would AND them and find almost nothing for questions).
      peer = await timed(QUERIES, (i) =>
        store.all(
          `SELECT id, text FROM peer_fts, to_tsquery('english', ?) q WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT 10`,
          [((questions[i] as string).toLowerCase().match(/[a-z0-9]+/g) ?? []).join(' | ')],
        ),
      );
    }
    return {
      engine,
      size,
      addPerS,
      inferPerS,
      indexLoadMs,
      p50: strata.p50,
      p95: strata.p95,
      peerP50: peer.p50,
      peerP95: peer.p95,
    };
  } finally {
    await cleanup();
  }
}

const rows: Row[] = [];
for (const size of SIZES) {
  for (const engine of ['sqlite', 'postgres'] as const) {
    process.stderr.write(`${engine} ${size}…\n`);
    rows.push(await run(engine, size));
  }
}
process.stdout.write(
  `Memory search at scale (one user scope, k=10, ${QUERIES} queries; synthetic facts; peer = the database's own full-text alone)\n\n`,
);
process.stdout.write(
  table([
    [
      'engine',
      'memories',
      'add/s (infer off)',
      'add msg/s (infer on)',
      'index load ms',
      'search p50 ms',
      'search p95 ms',
      'peer FTS p50 ms',
      'peer FTS p95 ms',
    ],
    ...rows.map((r) => [
      r.engine,
      r.size,
      r.addPerS,
      r.inferPerS,
      r.indexLoadMs,
      r.p50,
      r.p95,
      r.peerP50,
      r.peerP95,
    ]),
  ]) + '\n',
);
const figures: Record<string, unknown> = { bench: 'memory-scale' };
for (const r of rows) {
  const k = `${r.engine}_${r.size >= 1000 ? `${r.size / 1000}k` : r.size}`;
  figures[`${k}_search_p50_ms`] = round(r.p50, 3);
  figures[`${k}_search_p95_ms`] = round(r.p95, 3);
  figures[`${k}_peer_fts_p50_ms`] = round(r.peerP50, 3);
  figures[`${k}_peer_fts_p95_ms`] = round(r.peerP95, 3);
  figures[`${k}_add_per_s`] = round(r.addPerS, 0);
  figures[`${k}_infer_msgs_per_s`] = round(r.inferPerS, 0);
  figures[`${k}_index_load_ms`] = round(r.indexLoadMs, 0);
}
process.stdout.write(JSON.stringify(figures) + '\n');
