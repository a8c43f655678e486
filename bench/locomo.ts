// bench/locomo.ts — evidence retrieval on LoCoMo conversations (no LLM needed).
//
//   npm run bench -- locomo [--data DIR] [--k 10]
//
// For every conversation file in DIR (default ../shared/bench-data/locomo10/, format in
// ../shared/bench-data/SOURCES.md): ingest the turns session by session through
// MemoryService.add (infer: true: raw messages + offline fact extraction; session date/time as the
// message time; speaker names; image turns ingested as their text plus "[shares <blip_caption>]"),
// then search every QA question in the conversation's scope and score **evidence recall@5/@10**:
// the fraction of the item's evidence turns that appear among the returned hits (a hit covers the
// turns it cites and the turns attached as context). Annotations (observations, summaries, events)
// are never ingested.
//
// Side by side, the same questions against a plain BM25 over raw turns (k1 1.2, b 0.75, lower-case
// word tokens, English stop words, no stemming — a default Lucene/Elasticsearch setup), and the
// best configuration documented in FACTS.md for it: BM25 returning each hit's next turn too.
// Tokens returned per query are compared with the whole conversation's tokens (same estimate for
// both: 1.3 tokens per word). Latency is the search call in process (index warm), p50/p95.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { MemoryService } from '../src/memory/memory.ts';
import type { FusionWeights } from '../src/memory/search-index.ts';
import { estimateTokens, words } from '../src/memory/text.ts';
import type { MessageInput } from '../src/memory/types.ts';
import { percentile, round, table } from './_util.ts';

const { values } = parseArgs({
  options: { data: { type: 'string' }, neighbors: { type: 'string' }, weights: { type: 'string' } },
});
const DIR = values.data ?? new URL('../../shared/bench-data/locomo10/', import.meta.url).pathname;
const NEIGHBORS = Number(values.neighbors ?? 1);
/** `--weights text=1,vector=0.5` overrides fusion weights (defaults: DEFAULT_WEIGHTS). */
const WEIGHTS = Object.fromEntries(
  (values.weights ?? '')
    .split(',')
    .filter((p) => p.includes('='))
    .map((p) => [p.split('=')[0] as string, Number(p.split('=')[1])]),
) as Partial<FusionWeights>;
const CATEGORIES: Record<number, string> = {
  1: 'multi-hop',
  2: 'temporal',
  3: 'open-domain',
  4: 'single-hop',
  5: 'adversarial',
};

type Turn = { speaker: string; dia_id: string; text: string; blip_caption?: string };
type Qa = { question: string; evidence: string[]; category: number };
type Conversation = Record<string, unknown> & { qa: Qa[] };

const MONTHS = 'january february march april may june july august september october november december'.split(
  ' ',
);

/** "1:56 pm on 8 May, 2023" → epoch ms (UTC). */
function sessionTime(text: string): number {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})/i.exec(text);
  if (!m) throw new Error(`unparsed session date "${text}"`);
  const [, h, min, ampm, day, month, year] = m as unknown as string[];
  const hour = (Number(h) % 12) + (ampm?.toLowerCase() === 'pm' ? 12 : 0);
  return Date.UTC(
    Number(year),
    MONTHS.indexOf((month as string).toLowerCase()),
    Number(day),
    hour,
    Number(min),
  );
}

function sessions(c: Conversation): { at: number; turns: Turn[] }[] {
  const out: { n: number; at: number; turns: Turn[] }[] = [];
  for (const key of Object.keys(c)) {
    const m = /^session_(\d+)$/.exec(key);
    if (!m || !Array.isArray(c[key])) continue;
    out.push({ n: Number(m[1]), at: sessionTime(String(c[`${key}_date_time`])), turns: c[key] as Turn[] });
  }
  return out.sort((a, b) => a.n - b.n);
}

const turnText = (t: Turn): string => (t.blip_caption ? `${t.text} [shares ${t.blip_caption}]` : t.text);

function evidenceOf(qa: Qa): string[] {
  return qa.evidence.flatMap((e) => e.split(/[;,\s]+/)).filter((e) => /^D\d+:\d+$/.test(e));
}

// ---------------------------------------------------------------- plain BM25 baseline
const STOP = new Set(
  'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with i you he she we me my your his her our what when where who how which did do does'.split(
    ' ',
  ),
);
class Bm25 {
  readonly docs: { id: string; tf: Map<string, number>; len: number }[] = [];
  readonly df = new Map<string, number>();
  add(id: string, text: string): void {
    const tf = new Map<string, number>();
    const ts = words(text).filter((w) => !STOP.has(w));
    for (const t of ts) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const t of tf.keys()) this.df.set(t, (this.df.get(t) ?? 0) + 1);
    this.docs.push({ id, tf, len: ts.length });
  }
  search(query: string, k: number): number[] {
    const q = [...new Set(words(query).filter((w) => !STOP.has(w)))];
    const n = this.docs.length;
    const avg = this.docs.reduce((s, d) => s + d.len, 0) / n;
    const scored: [number, number][] = [];
    this.docs.forEach((d, i) => {
      let s = 0;
      for (const t of q) {
        const tf = d.tf.get(t);
        if (!tf) continue;
        const df = this.df.get(t) as number;
        s +=
          Math.log(1 + (n - df + 0.5) / (df + 0.5)) *
          ((tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * d.len) / avg)));
      }
      if (s > 0) scored.push([i, s]);
    });
    return scored
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, k)
      .map(([i]) => i);
  }
}

// ---------------------------------------------------------------- run
interface Tally {
  n: number;
  r5: number;
  r10: number;
}
type Method = 'strata' | 'bm25' | 'bm25_next';
const tallies: Record<Method, Map<number, Tally>> = {
  strata: new Map(),
  bm25: new Map(),
  bm25_next: new Map(),
};
const tokens: Record<Method, number[]> = { strata: [], bm25: [], bm25_next: [] };
const fullTokens: number[] = [];
const latencies: number[] = [];
const ingestMs: number[] = [];
let turnsTotal = 0;
let factsTotal = 0;

function record(
  method: Method,
  category: number,
  evidence: string[],
  cover: { at5: Set<string>; at10: Set<string> },
): void {
  const t = tallies[method].get(category) ?? { n: 0, r5: 0, r10: 0 };
  t.n++;
  t.r5 += evidence.filter((e) => cover.at5.has(e)).length / evidence.length;
  t.r10 += evidence.filter((e) => cover.at10.has(e)).length / evidence.length;
  tallies[method].set(category, t);
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
if (files.length === 0) throw new Error(`no .json conversation files in ${DIR}`);
for (const file of files) {
  const conv = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Conversation;
  const store = await createSqliteStore({ path: ':memory:' });
  const memory = await MemoryService.open({ store, weights: WEIGHTS });
  const scope = { runId: file.replace(/\.json$/, '') };
  const turns: Turn[] = [];
  const t0 = performance.now();
  for (const session of sessions(conv)) {
    const messages: MessageInput[] = session.turns.map((t, i) => ({
      name: t.speaker,
      content: turnText(t),
      id: t.dia_id,
      at: session.at + i * 1000,
    }));
    const result = await memory.add('bench', scope, messages, { infer: true });
    factsTotal += result.results.filter((r) => r.event === 'ADD').length;
    turns.push(...session.turns);
  }
  ingestMs.push(performance.now() - t0);
  turnsTotal += turns.length;
  const conversationTokens = turns.reduce((s, t) => s + estimateTokens(`${t.speaker}: ${turnText(t)}`), 0);
  const bm25 = new Bm25();
  for (const t of turns) bm25.add(t.dia_id, turnText(t));
  for (const qa of conv.qa) {
    const evidence = evidenceOf(qa);
    if (evidence.length === 0) continue;
    fullTokens.push(conversationTokens);
    const started = performance.now();
    const hits = await memory.search('bench', scope, qa.question, { k: 10, neighbors: NEIGHBORS });
    latencies.push(performance.now() - started);
    const cover = (n: number): Set<string> =>
      new Set(hits.slice(0, n).flatMap((h) => [...h.memory.sources, ...h.context.flatMap((c) => c.sources)]));
    record('strata', qa.category, evidence, { at5: cover(5), at10: cover(10) });
    tokens.strata.push(
      hits.reduce(
        (s, h) =>
          s + estimateTokens(h.memory.text) + h.context.reduce((x, c) => x + estimateTokens(c.text), 0),
        0,
      ),
    );
    const top = bm25.search(qa.question, 10);
    const ids = (n: number, next: boolean): Set<string> =>
      new Set(
        top.slice(0, n).flatMap((i) => {
          const own = [turns[i] as Turn];
          if (next && turns[i + 1]) own.push(turns[i + 1] as Turn);
          return own.map((t) => t.dia_id);
        }),
      );
    record('bm25', qa.category, evidence, { at5: ids(5, false), at10: ids(10, false) });
    record('bm25_next', qa.category, evidence, { at5: ids(5, true), at10: ids(10, true) });
    const tok = (next: boolean): number =>
      top.reduce(
        (s, i) =>
          s +
          estimateTokens(`${(turns[i] as Turn).speaker}: ${turnText(turns[i] as Turn)}`) +
          (next && turns[i + 1]
            ? estimateTokens(`${(turns[i + 1] as Turn).speaker}: ${turnText(turns[i + 1] as Turn)}`)
            : 0),
        0,
      );
    tokens.bm25.push(tok(false));
    tokens.bm25_next.push(tok(true));
  }
  await store.close();
}

function recall(method: Method, cats: number[], which: 'r5' | 'r10'): number {
  let n = 0;
  let sum = 0;
  for (const c of cats) {
    const t = tallies[method].get(c);
    if (!t) continue;
    n += t.n;
    sum += t[which];
  }
  return n === 0 ? NaN : sum / n;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const ratio = (m: Method): number => mean(tokens[m].map((t, i) => t / (fullTokens[i] as number)));
const main = [1, 2, 3, 4];
const rows: (string | number)[][] = [
  ['category', 'items', 'strata @5', 'strata @10', 'bm25 @5', 'bm25 @10', 'bm25+next @5', 'bm25+next @10'],
];
for (const c of [1, 2, 3, 4, 5]) {
  rows.push([
    `${c} ${CATEGORIES[c] ?? ''}`,
    String(tallies.strata.get(c)?.n ?? 0),
    ...(['strata', 'bm25', 'bm25_next'] as const).flatMap((m) => [
      recall(m, [c], 'r5'),
      recall(m, [c], 'r10'),
    ]),
  ]);
}
rows.push([
  'overall 1-4',
  String(main.reduce((s, c) => s + (tallies.strata.get(c)?.n ?? 0), 0)),
  ...(['strata', 'bm25', 'bm25_next'] as const).flatMap((m) => [
    recall(m, main, 'r5'),
    recall(m, main, 'r10'),
  ]),
]);
const sorted = [...latencies].sort((a, b) => a - b);
const figures = {
  bench: 'locomo',
  conversations: files.length,
  turns: turnsTotal,
  facts_added: factsTotal,
  items: latencies.length,
  strata_recall5: round(recall('strata', main, 'r5'), 3),
  strata_recall10: round(recall('strata', main, 'r10'), 3),
  bm25_recall5: round(recall('bm25', main, 'r5'), 3),
  bm25_recall10: round(recall('bm25', main, 'r10'), 3),
  bm25_next_recall10: round(recall('bm25_next', main, 'r10'), 3),
  recall10_gain_points_vs_bm25: round((recall('strata', main, 'r10') - recall('bm25', main, 'r10')) * 100, 1),
  strata_adversarial_recall10: round(recall('strata', [5], 'r10'), 3),
  strata_tokens_per_query: round(mean(tokens.strata), 0),
  bm25_tokens_per_query: round(mean(tokens.bm25), 0),
  conversation_tokens: round(mean(fullTokens), 0),
  strata_context_ratio: round(ratio('strata'), 4),
  bm25_context_ratio: round(ratio('bm25'), 4),
  search_p50_ms: round(percentile(sorted, 50), 3),
  search_p95_ms: round(percentile(sorted, 95), 3),
  ingest_ms_per_turn: round(ingestMs.reduce((a, b) => a + b, 0) / turnsTotal, 3),
  neighbors: NEIGHBORS,
};
process.stdout.write(
  `LoCoMo evidence recall (${files.length} conversations, ${turnsTotal} turns, ${latencies.length} QA items; k=10, Strata neighbors=${NEIGHBORS}; image turns ingested as text + blip_caption)\n\n`,
);
process.stdout.write(table(rows) + '\n\n');
process.stdout.write(
  table([
    ['', 'tokens/query', 'ratio vs conversation', 'search p50 ms', 'search p95 ms'],
    [
      'strata',
      figures.strata_tokens_per_query,
      figures.strata_context_ratio,
      figures.search_p50_ms,
      figures.search_p95_ms,
    ],
    ['bm25 (turns)', figures.bm25_tokens_per_query, figures.bm25_context_ratio, '', ''],
  ]) + '\n',
);
process.stdout.write(
  `\ntargets: recall@10 >= bm25 + 10 points: ${figures.recall10_gain_points_vs_bm25 >= 10 ? 'met' : 'NOT met'} (${figures.recall10_gain_points_vs_bm25} points); context <= 10%: ${figures.strata_context_ratio <= 0.1 ? 'met' : 'NOT met'}; search p95 < 10 ms: ${figures.search_p95_ms < 10 ? 'met' : 'NOT met'}\n`,
);
process.stdout.write(JSON.stringify(figures) + '\n');
