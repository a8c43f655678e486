/**
 * @module memory/search-index
 * The in-process retrieval index of one tenant, a cache of `mem_items` kept current by revision
 * (see `memory/migrations`). It ranks with five signals and fuses them:
 *
 * - **text**: BM25 (k1 1.2, b 0.75, Lucene's non-negative IDF) over {@link terms};
 * - **vector**: cosine similarity of the embedder's unit vectors (brute force over the scope);
 * - **entity**: names in the query matched against each candidate's entities (IDF-weighted);
 * - **graph**: slot relations of the entity graph — facts whose subject is named in the query and
 *   whose predicate the query asks about ("where does Alice live" → Alice / lives_in), newest
 *   valid fact first; invalidated ones only when the filters include them;
 * - **recency**: newer `eventAt` first, among the candidates of the other signals.
 *
 * Fusion is weighted reciprocal rank fusion: `score = Σ weight_s / (60 + rank_s)` over the signals
 * that ranked the memory in their top {@link CANDIDATES}. Ranking in process, from stored text and
 * vectors only, is what makes both store drivers return identical results for identical data (the
 * conformance suite checks it); the statistics (N, document frequencies, average length) are the
 * tenant's own, so nothing about other tenants leaks into scores. Ties break on memory id, so the
 * order never depends on load order.
 */
import { inScope, scopeKey } from './scope.ts';
import { termCounts } from './text.ts';
import type { Memory, Scope, SearchFilters, SignalExplanation } from './types.ts';

export const CANDIDATES = 200;
const RRF_K = 60;
const K1 = 1.2;
const B = 0.75;

export interface FusionWeights {
  readonly text: number;
  readonly vector: number;
  readonly entity: number;
  readonly recency: number;
  readonly graph: number;
}

export const DEFAULT_WEIGHTS: FusionWeights = { text: 1, vector: 0.2, entity: 0.1, recency: 0.05, graph: 1 };

interface Doc {
  readonly slot: number;
  readonly memory: Memory;
  readonly key: string;
  readonly seq: number;
  readonly terms: Map<string, number>;
  readonly length: number;
}

export interface IndexQuery {
  readonly scope: Scope;
  /** Only memories whose scope equals `scope` exactly (absent = none), for write-time dedup. */
  readonly exact?: boolean;
  readonly terms: readonly string[];
  readonly vector: Float32Array | null;
  readonly entities: readonly string[];
  /** Slot predicates the query asks about (`lives_in` …). */
  readonly predicates?: readonly string[];
  readonly filters: SearchFilters;
  readonly limit: number;
  readonly weights: FusionWeights;
}

export interface RankedDoc {
  readonly memory: Memory;
  readonly score: number;
  readonly text?: SignalExplanation & { terms: string[] };
  readonly vector?: SignalExplanation;
  readonly entity?: SignalExplanation & { entities: string[] };
  readonly recency?: SignalExplanation;
  readonly graph?: SignalExplanation & { relation: string };
}

type Mutable = {
  slot: number;
  score: number;
  text?: SignalExplanation & { terms: string[] };
  vector?: SignalExplanation;
  entity?: SignalExplanation & { entities: string[] };
  recency?: SignalExplanation;
  graph?: SignalExplanation & { relation: string };
};

export class TenantIndex {
  rev = 0;
  readonly #docs: (Doc | undefined)[] = [];
  readonly #free: number[] = [];
  readonly #byId = new Map<string, number>();
  readonly #postings = new Map<string, Set<number>>();
  readonly #entities = new Map<string, Set<number>>();
  /** `subject\0predicate` → facts holding that relation. */
  readonly #relations = new Map<string, Set<number>>();
  /** Messages of each exact scope in conversation order, rebuilt lazily. */
  readonly #conversations = new Map<string, Doc[] | null>();
  readonly #messagesBySource = new Map<string, number>();
  #count = 0;
  #totalLength = 0;
  /** Every vector in one contiguous array (slot × dims), for a cache-friendly scan. */
  #matrix = new Float32Array(0);
  #dims = 0;
  #hasVector = new Uint8Array(0);

  get size(): number {
    return this.#count;
  }

  upsert(memory: Memory, seq: number, vector: Float32Array | null): void {
    this.remove(memory.id);
    const counts = termCounts(memory.text);
    let length = 0;
    for (const n of counts.values()) length += n;
    const slot = this.#free.pop() ?? this.#docs.length;
    const key = scopeKey(memory.scope);
    const doc: Doc = { slot, memory, key, seq, terms: counts, length };
    this.#docs[slot] = doc;
    this.#storeVector(slot, vector);
    this.#byId.set(memory.id, slot);
    for (const term of counts.keys()) setOf(this.#postings, term).add(slot);
    for (const entity of memory.entities) setOf(this.#entities, entity).add(slot);
    const relation = relationKey(memory);
    if (relation !== null) setOf(this.#relations, relation).add(slot);
    if (memory.kind === 'message') {
      this.#conversations.set(key, null);
      for (const source of memory.sources) this.#messagesBySource.set(`${key}\u0000${source}`, slot);
    }
    this.#count++;
    this.#totalLength += length;
  }

  remove(id: string): void {
    const slot = this.#byId.get(id);
    if (slot === undefined) return;
    const doc = this.#docs[slot] as Doc;
    for (const term of doc.terms.keys()) deleteFrom(this.#postings, term, slot);
    for (const entity of doc.memory.entities) deleteFrom(this.#entities, entity, slot);
    const relation = relationKey(doc.memory);
    if (relation !== null) deleteFrom(this.#relations, relation, slot);
    if (doc.memory.kind === 'message') {
      this.#conversations.set(doc.key, null);
      for (const source of doc.memory.sources) this.#messagesBySource.delete(`${doc.key}\u0000${source}`);
    }
    this.#docs[slot] = undefined;
    if (slot < this.#hasVector.length) this.#hasVector[slot] = 0;
    this.#free.push(slot);
    this.#byId.delete(id);
    this.#count--;
    this.#totalLength -= doc.length;
  }

  #storeVector(slot: number, vector: Float32Array | null): void {
    if (vector === null) {
      if (slot < this.#hasVector.length) this.#hasVector[slot] = 0;
      return;
    }
    if (this.#dims === 0) this.#dims = vector.length;
    if (vector.length !== this.#dims) return; // another embedder's space: not comparable
    if (slot >= this.#hasVector.length) {
      const capacity = Math.max(1024, this.#hasVector.length * 2, slot + 1);
      const matrix = new Float32Array(capacity * this.#dims);
      matrix.set(this.#matrix);
      this.#matrix = matrix;
      const has = new Uint8Array(capacity);
      has.set(this.#hasVector);
      this.#hasVector = has;
    }
    this.#matrix.set(vector, slot * this.#dims);
    this.#hasVector[slot] = 1;
  }

  get(id: string): Memory | undefined {
    const slot = this.#byId.get(id);
    return slot === undefined ? undefined : this.#docs[slot]?.memory;
  }

  /** The `n` messages that follow the message a memory comes from, in the same exact scope. */
  following(memory: Memory, n: number): Memory[] {
    if (n <= 0) return [];
    const key = scopeKey(memory.scope);
    const source = memory.sources[0];
    if (source === undefined) return [];
    const slot = this.#messagesBySource.get(`${key}\u0000${source}`);
    if (slot === undefined) return [];
    const conversation = this.#conversation(key);
    const doc = this.#docs[slot] as Doc;
    const at = binarySearch(conversation, doc.seq);
    return conversation.slice(at + 1, at + 1 + n).map((d) => d.memory);
  }

  #conversation(key: string): Doc[] {
    let list = this.#conversations.get(key);
    if (list === null || list === undefined) {
      list = [];
      for (const d of this.#docs) if (d && d.key === key && d.memory.kind === 'message') list.push(d);
      list.sort((a, b) => a.seq - b.seq);
      this.#conversations.set(key, list);
    }
    return list;
  }

  search(q: IndexQuery): RankedDoc[] {
    const visible = this.#visibility(q);
    const text = this.#bm25(q.terms, visible);
    const vector = q.weights.vector > 0 && q.vector ? this.#cosine(q.vector, visible) : [];
    const fused = new Map<number, Mutable>();
    const entry = (slot: number): Mutable => {
      let e = fused.get(slot);
      if (!e) {
        e = { slot, score: 0 };
        fused.set(slot, e);
      }
      return e;
    };
    text.forEach(([slot, score, matched], i) => {
      const e = entry(slot);
      e.score += q.weights.text / (RRF_K + i + 1);
      e.text = { rank: i + 1, score: round(score), terms: matched };
    });
    vector.forEach(([slot, score], i) => {
      const e = entry(slot);
      e.score += q.weights.vector / (RRF_K + i + 1);
      e.vector = { rank: i + 1, score: round(score) };
    });
    if (q.weights.graph > 0) {
      this.#graph(q, visible).forEach(([slot, at, relation], i) => {
        const e = entry(slot);
        e.score += q.weights.graph / (RRF_K + i + 1);
        e.graph = { rank: i + 1, score: at, relation };
      });
    }
    if (q.weights.entity > 0 && q.entities.length > 0) {
      // Entities refine the other signals' candidates (alone, a speaker's name matches half a
      // conversation), so only candidates already in the pool are ranked by them.
      const idf = new Map<string, number>();
      for (const name of q.entities) {
        const n = this.#entities.get(name)?.size;
        if (n !== undefined) idf.set(name, Math.log(1 + this.#count / n));
      }
      const matched: [number, number, string[]][] = [];
      for (const e of fused.values()) {
        const names = (this.#docs[e.slot] as Doc).memory.entities.filter((n) => idf.has(n));
        if (names.length > 0)
          matched.push([e.slot, names.reduce((sum, n) => sum + (idf.get(n) as number), 0), names]);
      }
      top(this.#docs, matched, matched.length).forEach(([slot, score, names], i) => {
        const e = fused.get(slot) as Mutable;
        e.score += q.weights.entity / (RRF_K + i + 1);
        e.entity = { rank: i + 1, score: round(score), entities: names };
      });
    }
    if (q.weights.recency > 0) {
      const byTime = [...fused.values()].sort(
        (a, b) => this.#at(b.slot) - this.#at(a.slot) || byId(this.#docs, a.slot, b.slot),
      );
      byTime.forEach((e, i) => {
        e.score += q.weights.recency / (RRF_K + i + 1);
        e.recency = { rank: i + 1, score: this.#at(e.slot) };
      });
    }
    const pool: [number, number, Mutable][] = [];
    for (const e of fused.values()) pool.push([e.slot, e.score, e]);
    return top(this.#docs, pool, q.limit).map(([, , e]) => ({
      memory: (this.#docs[e.slot] as Doc).memory,
      score: e.score,
      ...signals(e),
    }));
  }

  #at(slot: number): number {
    return (this.#docs[slot] as Doc).memory.eventAt;
  }

  /** A visibility test for this query's scope and filters, memoised in a byte per slot. */
  #visibility(q: IndexQuery): (slot: number) => boolean {
    const seen = new Uint8Array(this.#docs.length); // 0 unknown, 1 visible, 2 hidden
    const f = q.filters;
    return (slot) => {
      const known = seen[slot];
      if (known !== 0) return known === 1;
      const ok = visible((this.#docs[slot] as Doc).memory, q, f);
      seen[slot] = ok ? 1 : 2;
      return ok;
    };
  }

  #bm25(queryTerms: readonly string[], visible: (slot: number) => boolean): [number, number, string[]][] {
    if (this.#count === 0 || queryTerms.length === 0) return [];
    const avg = this.#totalLength / this.#count || 1;
    const scores = new Map<number, { score: number; terms: string[] }>();
    for (const term of new Set(queryTerms)) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const df = posting.size;
      const idf = Math.log(1 + (this.#count - df + 0.5) / (df + 0.5));
      for (const slot of posting) {
        if (!visible(slot)) continue;
        const doc = this.#docs[slot] as Doc;
        const tf = doc.terms.get(term) as number;
        const s = (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * doc.length) / avg));
        const e = scores.get(slot);
        if (e) {
          e.score += s;
          e.terms.push(term);
        } else scores.set(slot, { score: s, terms: [term] });
      }
    }
    const out: [number, number, string[]][] = [];
    for (const [slot, e] of scores) out.push([slot, e.score, e.terms]);
    return top(this.#docs, out, CANDIDATES);
  }

  #cosine(query: Float32Array, visible: (slot: number) => boolean): [number, number][] {
    const dims = this.#dims;
    if (query.length !== dims) return [];
    const m = this.#matrix;
    const has = this.#hasVector;
    const slots = Math.min(this.#docs.length, has.length);
    // A bounded min-heap of (score, slot) in typed arrays: no allocation per document, and the
    // visibility test runs only for documents that would enter the heap.
    const cap = CANDIDATES;
    const hs = new Float64Array(cap);
    const hi = new Int32Array(cap);
    let size = 0;
    const below = (a: number, b: number): boolean =>
      (hs[a] as number) < (hs[b] as number) ||
      ((hs[a] as number) === (hs[b] as number) && byId(this.#docs, hi[a] as number, hi[b] as number) > 0);
    const swap = (a: number, b: number): void => {
      const s = hs[a] as number;
      hs[a] = hs[b] as number;
      hs[b] = s;
      const t = hi[a] as number;
      hi[a] = hi[b] as number;
      hi[b] = t;
    };
    const siftDown = (): void => {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < size && below(l, w)) w = l;
        if (r < size && below(r, w)) w = r;
        if (w === i) return;
        swap(i, w);
        i = w;
      }
    };
    for (let slot = 0; slot < slots; slot++) {
      if (has[slot] !== 1) continue;
      const base = slot * dims;
      let dot = 0;
      for (let i = 0; i < dims; i++) dot += (m[base + i] as number) * (query[i] as number);
      if (dot <= 0) continue;
      if (size === cap) {
        const min = hs[0] as number;
        if (dot < min || (dot === min && byId(this.#docs, slot, hi[0] as number) > 0)) continue;
        if (!visible(slot)) continue;
        hs[0] = dot;
        hi[0] = slot;
        siftDown();
      } else {
        if (!visible(slot)) continue;
        hs[size] = dot;
        hi[size] = slot;
        let i = size++;
        while (i > 0) {
          const parent = (i - 1) >> 1;
          if (!below(i, parent)) break;
          swap(i, parent);
          i = parent;
        }
      }
    }
    const out: [number, number][] = [];
    for (let k = 0; k < size; k++) out.push([hi[k] as number, hs[k] as number]);
    return top(this.#docs, out, cap);
  }

  #graph(q: IndexQuery, visible: (slot: number) => boolean): [number, number, string][] {
    const out: [number, number, string][] = [];
    for (const entity of q.entities) {
      for (const predicate of q.predicates ?? []) {
        for (const slot of this.#relations.get(`${entity}\u0000${predicate}`) ?? []) {
          if (visible(slot))
            out.push([slot, (this.#docs[slot] as Doc).memory.validFrom, `${entity} ${predicate}`]);
        }
      }
    }
    return top(this.#docs, out, CANDIDATES);
  }
}

function signals(e: Mutable): Omit<RankedDoc, 'memory' | 'score'> {
  const out: { -readonly [K in keyof Omit<RankedDoc, 'memory' | 'score'>]: RankedDoc[K] } = {};
  if (e.text) out.text = e.text;
  if (e.vector) out.vector = e.vector;
  if (e.entity) out.entity = e.entity;
  if (e.graph) out.graph = e.graph;
  if (e.recency) out.recency = e.recency;
  return out;
}

function visible(m: Memory, q: IndexQuery, f: SearchFilters): boolean {
  if (m.status === 'deleted') return false;
  if (f.asOf !== undefined) {
    if (m.validFrom > f.asOf || (m.validTo !== null && m.validTo <= f.asOf)) return false;
  } else if (m.status === 'invalid' && f.includeInvalid !== true) return false;
  if (f.kind !== undefined && m.kind !== f.kind) return false;
  if (q.exact === true) {
    const s = q.scope;
    if (m.scope.userId !== s.userId || m.scope.agentId !== s.agentId || m.scope.runId !== s.runId)
      return false;
  } else if (!inScope(m.scope, q.scope)) return false;
  if (f.metadata) {
    for (const [k, v] of Object.entries(f.metadata)) if (m.metadata[k] !== v) return false;
  }
  return true;
}

/**
 * The `n` best by score (descending), ties by memory id, so order never depends on load order.
 * Large inputs are first cut with a bounded min-heap (O(m log n)) instead of sorting all m.
 */
function top<T extends [number, number, ...unknown[]]>(
  docs: readonly (Doc | undefined)[],
  items: T[],
  n: number,
): T[] {
  const cmp = (a: T, b: T): number => b[1] - a[1] || byId(docs, a[0], b[0]);
  if (items.length <= n * 2) {
    items.sort(cmp);
    return items.length > n ? items.slice(0, n) : items;
  }
  // heap[0] is the worst kept item: the one that sorts last.
  const heap: T[] = [];
  const worse = (a: T, b: T): boolean => cmp(a, b) > 0;
  for (const item of items) {
    if (heap.length < n) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i] as T, heap[parent] as T)) break;
        [heap[i], heap[parent]] = [heap[parent] as T, heap[i] as T];
        i = parent;
      }
    } else if (worse(heap[0] as T, item)) {
      heap[0] = item;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < n && worse(heap[l] as T, heap[w] as T)) w = l;
        if (r < n && worse(heap[r] as T, heap[w] as T)) w = r;
        if (w === i) break;
        [heap[i], heap[w]] = [heap[w] as T, heap[i] as T];
        i = w;
      }
    }
  }
  return heap.sort(cmp);
}

function byId(docs: readonly (Doc | undefined)[], a: number, b: number): number {
  const x = (docs[a] as Doc).memory.id;
  const y = (docs[b] as Doc).memory.id;
  return x < y ? -1 : x > y ? 1 : 0;
}

function relationKey(m: Memory): string | null {
  if (m.kind !== 'fact' || m.subject === null || m.predicate === null) return null;
  return `${m.subject.toLowerCase()}\u0000${m.predicate}`;
}

function setOf<K>(map: Map<K, Set<number>>, key: K): Set<number> {
  let s = map.get(key);
  if (!s) {
    s = new Set();
    map.set(key, s);
  }
  return s;
}

function deleteFrom<K>(map: Map<K, Set<number>>, key: K, slot: number): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(slot);
  if (s.size === 0) map.delete(key);
}

function binarySearch(list: readonly Doc[], seq: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = (list[mid] as Doc).seq;
    if (s === seq) return mid;
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo - 1;
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
