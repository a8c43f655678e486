/**
 * @module memory/memory
 * The memory service: writes (add with inference, update, delete), reads (get, list, history,
 * search) and the per-tenant search index, over any kernel store (SQLite or PostgreSQL).
 *
 * Every write runs in one transaction that bumps the tenant's revision (see `memory/migrations`);
 * reads of the search index first catch up to the latest revision, so a search sees every write
 * committed before it, from this process or any other sharing the database.
 */
import { createHash } from 'node:crypto';
import {
  hangUntilAborted,
  newId,
  StrataError,
  systemClock,
  takeChaosFault,
  withDeadline,
  type Clock,
  type Queryable,
  type Store,
  type Transaction,
} from '../kernel/index.ts';
import { decide, knownOf, type Decision, type Known, type Knowledge } from './decide.ts';
import { bufferToVector, HashingEmbedder, vectorToBuffer, type Embedder } from './embedder.ts';
import {
  entitiesOf,
  OfflineExtractor,
  queryEntities,
  queryPredicates,
  slotOf,
  type CandidateFact,
  type FactExtractor,
} from './extract.ts';
import { checkText, LIMITS, sourceMessages } from './limits.ts';
import { MEMORY_LAYER, memoryMigrations } from './migrations.ts';
import {
  historyValues,
  INSERT_HISTORY,
  INSERT_ITEM,
  itemValues,
  toHistory,
  toMemory,
  type HistoryRow,
  type ItemRow,
} from './rows.ts';
import { checkScope, inScope, scopeKey } from './scope.ts';
import { DEFAULT_WEIGHTS, TenantIndex, type FusionWeights } from './search-index.ts';
import { terms } from './text.ts';
import { exportJsonl, importRows, parseJsonl } from './transfer.ts';
import type {
  AddOptions,
  AddResult,
  AddResultItem,
  HistoryEntry,
  Hit,
  Memory,
  MemoryKind,
  MemoryStatus,
  MessageInput,
  Scope,
  SearchOptions,
} from './types.ts';

export interface MemoryServiceOptions {
  store: Store;
  /** @default a {@link HashingEmbedder} of 256 dimensions */
  embedder?: Embedder;
  /** @default the {@link OfflineExtractor} */
  extractor?: FactExtractor;
  clock?: Clock;
  /** Fusion weights per signal. @default {@link DEFAULT_WEIGHTS} */
  weights?: Partial<FusionWeights>;
}

export interface ListOptions {
  kind?: MemoryKind;
  /** @default 'active' */
  status?: MemoryStatus | 'all';
  /** @default 100 */
  limit?: number;
  /** Keyset cursor: the last id of the previous page. */
  after?: string;
}

const MAX_METADATA_CHARS = 16_000;

export class MemoryService {
  readonly store: Store;
  readonly embedder: Embedder;
  readonly extractor: FactExtractor;
  readonly clock: Clock;
  readonly weights: FusionWeights;
  readonly #indexes = new Map<string, TenantIndex>();
  readonly #syncs = new Map<string, Promise<TenantIndex>>();

  private constructor(options: MemoryServiceOptions) {
    this.store = options.store;
    this.embedder = options.embedder ?? new HashingEmbedder();
    this.extractor = options.extractor ?? new OfflineExtractor();
    this.clock = options.clock ?? systemClock;
    this.weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  }

  /** Applies the memory schema (idempotent) and returns the service. */
  static async open(options: MemoryServiceOptions): Promise<MemoryService> {
    await options.store.migrate(MEMORY_LAYER, memoryMigrations);
    return new MemoryService(options);
  }

  // ---------------------------------------------------------------- writes

  /**
   * Adds messages (or one text). With `infer` (the default) the raw messages are kept and facts are
   * extracted and reconciled (ADD/UPDATE/DELETE/NOOP); without it each message is stored verbatim as
   * one fact.
   */
  async add(
    tenantId: string,
    scope: Scope,
    input: string | readonly MessageInput[],
    options: AddOptions & { extractor?: FactExtractor } = {},
  ): Promise<AddResult> {
    const s = checkScope(scope, true);
    const metadata = checkMetadata(options.metadata ?? {});
    const now = this.clock.now();
    const infer = options.infer ?? true;
    let messages = sourceMessages(input, { now, newId: () => newId('msg', now) });
    if (infer) messages = await this.#unseen(tenantId, s, messages);
    const extractor = options.extractor ?? this.extractor;
    const candidates: CandidateFact[] = infer
      ? await extractor.extract(messages)
      : messages.map((m) => ({
          text: m.content,
          speaker: m.named ? m.speaker : null,
          sources: [m.id],
          eventAt: m.at,
          slot: m.named ? slotOf(m.content, m.speaker) : null,
          entities: entitiesOf(m.content, m.named ? m.speaker : null),
        }));
    const texts = [
      ...(infer ? messages.map((m) => messageText(m.speaker, m.content)) : []),
      ...candidates.map((c) => c.text),
    ];
    const vectors = await this.embedder.embed(texts);
    const messageVectors = infer ? vectors.slice(0, messages.length) : [];
    const factVectors = new Map<CandidateFact, Float32Array>(
      candidates.map((c, i) => [c, vectors[(infer ? messages.length : 0) + i] as Float32Array]),
    );
    const index = await this.#index(tenantId);
    return this.#write(tenantId, async (tx, rev) => {
      const results: AddResultItem[] = [];
      const messageIds: string[] = [];
      for (const [i, m] of messages.entries()) {
        if (!infer) break;
        const id = newId('mem', now);
        messageIds.push(id);
        await tx.run(
          INSERT_ITEM,
          itemValues({
            ...this.#baseRow(tenantId, s, { id, now, rev }),
            kind: 'message',
            text: messageText(m.speaker, m.content),
            speaker: m.speaker,
            sources: JSON.stringify([m.id]),
            entities: JSON.stringify(entitiesOf(m.content, m.named ? m.speaker : null)),
            metadata: JSON.stringify({ ...metadata, role: m.role }),
            hash: messageHash(s, m.id),
            vector: vectorToBuffer(messageVectors[i] as Float32Array),
            seq: rev * 1000 + i,
            event_at: m.at,
            valid_from: m.at,
          }),
        );
      }
      const knowledge = this.#knowledge(tx, {
        tenantId,
        scope: s,
        index,
        pending: new Map(),
        vectors: factVectors,
      });
      for (const fact of candidates) {
        // Verbatim adds (infer: false) are stored as given, like Mem0's; no reconciliation.
        const decision: Decision = infer
          ? await decide(fact, knowledge.api)
          : { event: 'ADD', fact, reason: 'stored verbatim (infer: false)' };
        const vector = factVectors.get(fact) as Float32Array;
        results.push(
          ...(await this.#apply(tx, { tenantId, scope: s, rev, now, metadata, decision, vector })),
        );
        knowledge.note(decision, results);
      }
      return { results, messages: messageIds, extractor: infer ? extractor.name : 'none' };
    });
  }

  /** Replaces a fact's text (and/or merges metadata); the old text stays in its history. */
  async update(
    tenantId: string,
    scope: Scope,
    id: string,
    change: { text?: string; metadata?: Record<string, unknown> },
  ): Promise<Memory> {
    const s = checkScope(scope, false);
    if (change.text === undefined && change.metadata === undefined) {
      throw new StrataError('E_INVALID_INPUT', 'nothing to update: give text or metadata');
    }
    const text = change.text === undefined ? undefined : checkText(change.text, 'text');
    const patch = change.metadata === undefined ? undefined : checkMetadata(change.metadata);
    const vector = text === undefined ? undefined : ((await this.embedder.embed([text]))[0] as Float32Array);
    const now = this.clock.now();
    return this.#write(tenantId, async (tx, rev) => {
      const row = await this.#row(tx, tenantId, s, id);
      if (row.kind !== 'fact')
        throw new StrataError('E_CONFLICT', 'messages are a log and cannot be edited; add a fact');
      if (row.status !== 'active')
        throw new StrataError('E_CONFLICT', `memory ${id} is ${row.status}`, { status: row.status });
      const slot = text !== undefined && row.subject !== null ? slotOf(text, row.subject) : null;
      const next: ItemRow = {
        ...row,
        text: text ?? row.text,
        metadata:
          patch === undefined
            ? row.metadata
            : JSON.stringify({ ...(JSON.parse(row.metadata) as object), ...patch }),
        hash: text === undefined ? row.hash : factHash(text),
        entities: text === undefined ? row.entities : JSON.stringify(entitiesOf(text, row.subject)),
        predicate: text === undefined ? row.predicate : (slot?.predicate ?? null),
        object: text === undefined ? row.object : (slot?.object ?? null),
        embedder: vector === undefined ? row.embedder : this.embedder.id,
        vector: vector === undefined ? row.vector : vectorToBuffer(vector),
        updated_at: now,
        rev,
      };
      await this.#rewrite(tx, next);
      await this.#history(tx, {
        tenantId,
        memoryId: id,
        event: 'UPDATE',
        oldText: row.text,
        newText: next.text,
        sources: [],
        reason: text === undefined ? 'metadata updated by caller' : 'updated by caller',
        at: now,
      });
      return toMemory(next);
    });
  }

  /** Marks a memory deleted (validity closed, history kept). Deleting twice is a no-op. */
  async delete(tenantId: string, scope: Scope, id: string): Promise<Memory> {
    const s = checkScope(scope, false);
    const now = this.clock.now();
    return this.#write(tenantId, async (tx, rev) => {
      const row = await this.#row(tx, tenantId, s, id);
      if (row.status === 'deleted') return toMemory(row);
      const next: ItemRow = {
        ...row,
        status: 'deleted',
        valid_to: row.valid_to ?? now,
        updated_at: now,
        rev,
      };
      await this.#rewrite(tx, next);
      await this.#history(tx, {
        tenantId,
        memoryId: id,
        event: 'DELETE',
        oldText: row.text,
        newText: null,
        sources: [],
        reason: 'deleted by caller',
        at: now,
      });
      return toMemory(next);
    });
  }

  // ---------------------------------------------------------------- reads

  async get(tenantId: string, scope: Scope, id: string): Promise<Memory> {
    return toMemory(await this.#row(this.store, tenantId, checkScope(scope, false), id));
  }

  async history(tenantId: string, scope: Scope, id: string): Promise<HistoryEntry[]> {
    await this.#row(this.store, tenantId, checkScope(scope, false), id);
    const rows = await this.store.all<HistoryRow>(
      'SELECT * FROM mem_history WHERE tenant_id = ? AND memory_id = ? ORDER BY at, id',
      [tenantId, id],
    );
    return rows.map(toHistory);
  }

  async list(tenantId: string, scope: Scope, options: ListOptions = {}): Promise<Memory[]> {
    const s = checkScope(scope, false);
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    const where = ['tenant_id = ?'];
    const params: (string | number)[] = [tenantId];
    for (const [column, value] of [
      ['user_id', s.userId],
      ['agent_id', s.agentId],
      ['run_id', s.runId],
      ['kind', options.kind],
    ] as const) {
      if (value !== undefined) {
        where.push(`${column} = ?`);
        params.push(value);
      }
    }
    const status = options.status ?? 'active';
    if (status !== 'all') {
      where.push('status = ?');
      params.push(status);
    }
    if (options.after !== undefined) {
      where.push('id > ?');
      params.push(options.after);
    }
    const rows = await this.store.all<ItemRow>(
      `SELECT * FROM mem_items WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${limit}`,
      params,
    );
    return rows.map(toMemory);
  }

  /** Hybrid search in a scope; one hit per source message, best first, each explained. */
  async search(tenantId: string, scope: Scope, query: string, options: SearchOptions = {}): Promise<Hit[]> {
    const s = checkScope(scope, false);
    checkText(query, 'query');
    if (query.length > LIMITS.queryChars) {
      throw new StrataError(
        'E_PAYLOAD_TOO_LARGE',
        `the query is longer than ${LIMITS.queryChars} characters`,
        {
          limit: LIMITS.queryChars,
        },
      );
    }
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > LIMITS.k) {
      throw new StrataError('E_INVALID_INPUT', `k must be an integer from 1 to ${LIMITS.k}`);
    }
    const overdue = { message: 'the memory search did not finish' };
    const { index, vector } = await withDeadline(options, overdue, async (signal) => {
      // Chaos's memory_search_timeout: the index's catch-up read stalls, as behind a locked database.
      if (takeChaosFault('memory', 'memory_search_timeout')) await hangUntilAborted(signal);
      const caughtUp = await this.#index(tenantId);
      const embedded = this.weights.vector > 0 ? ((await this.embedder.embed([query]))[0] ?? null) : null;
      return { index: caughtUp, vector: embedded };
    });
    const ranked = index.search({
      scope: s,
      terms: terms(query),
      vector,
      entities: queryEntities(query),
      predicates: queryPredicates(query),
      filters: options.filters ?? {},
      limit: k * 4,
      weights: this.weights,
    });
    const seen = new Set<string>();
    const hits: Hit[] = [];
    for (const r of ranked) {
      if (r.score < (options.minScore ?? 0)) break;
      const anchor = `${scopeKey(r.memory.scope)}\u0000${r.memory.sources[0] ?? r.memory.id}`;
      if (seen.has(anchor)) continue;
      seen.add(anchor);
      const { memory, score, ...signals } = r;
      hits.push({ memory, score, signals, context: index.following(memory, options.neighbors ?? 0) });
      if (hits.length === k) break;
    }
    return hits;
  }

  /** The scope's memories and their history as JSON Lines (format: `memory/transfer`). */
  async export(tenantId: string, scope: Scope): Promise<string> {
    return exportJsonl(this.store, { tenantId, scope: checkScope(scope, false), now: this.clock.now() });
  }

  /**
   * Imports a JSON Lines export into this tenant: every line is validated first (E_INVALID_INPUT
   * names the line), then all are written in one transaction; an id already present is E_CONFLICT
   * and nothing is written.
   */
  async import(
    tenantId: string,
    scope: Scope,
    jsonl: string,
  ): Promise<{ memories: number; history: number }> {
    const parsed = parseJsonl(jsonl, checkScope(scope, false));
    return importRows(this.store, { tenantId, parsed, bumpRev: (tx) => this.#bump(tx, tenantId) });
  }

  // ---------------------------------------------------------------- internals

  /** The tenant's search index, caught up to the latest committed revision. */
  async #index(tenantId: string): Promise<TenantIndex> {
    const running = this.#syncs.get(tenantId);
    if (running) return running;
    const sync = this.#sync(tenantId).finally(() => this.#syncs.delete(tenantId));
    this.#syncs.set(tenantId, sync);
    return sync;
  }

  async #sync(tenantId: string): Promise<TenantIndex> {
    let index = this.#indexes.get(tenantId);
    if (!index) {
      index = new TenantIndex();
      this.#indexes.set(tenantId, index);
    }
    const head = await this.store.get<{ rev: number }>('SELECT rev FROM mem_revs WHERE tenant_id = ?', [
      tenantId,
    ]);
    const rev = head === undefined ? 0 : Number(head.rev);
    if (rev <= index.rev) return index;
    const rows = await this.store.all<ItemRow>(
      'SELECT * FROM mem_items WHERE tenant_id = ? AND rev > ? ORDER BY rev, id',
      [tenantId, index.rev],
    );
    for (const row of rows) {
      const vector =
        row.vector !== null && row.embedder === this.embedder.id ? bufferToVector(row.vector) : null;
      index.upsert(toMemory(row), Number(row.seq), vector);
    }
    index.rev = rev;
    return index;
  }

  /** Runs `fn` in a transaction holding a fresh revision of the tenant. */
  #write<T>(tenantId: string, fn: (tx: Transaction, rev: number) => Promise<T>): Promise<T> {
    return this.store.transaction(async (tx) => fn(tx, await this.#bump(tx, tenantId)));
  }

  async #bump(tx: Queryable, tenantId: string): Promise<number> {
    const row = await tx.get<{ rev: number }>(
      'INSERT INTO mem_revs (tenant_id, rev) VALUES (?, 1) ON CONFLICT (tenant_id) DO UPDATE SET rev = mem_revs.rev + 1 RETURNING rev',
      [tenantId],
    );
    return Number((row as { rev: number }).rev);
  }

  /** Messages not stored before in this exact scope (re-sending a message id is a no-op). */
  async #unseen<T extends { id: string }>(tenantId: string, scope: Scope, messages: T[]): Promise<T[]> {
    const out: T[] = [];
    for (const m of messages) {
      const found = await this.store.get('SELECT id FROM mem_items WHERE tenant_id = ? AND hash = ?', [
        tenantId,
        messageHash(scope, m.id),
      ]);
      if (found === undefined && !out.some((o) => o.id === m.id)) out.push(m);
    }
    return out;
  }

  async #row(q: Queryable, tenantId: string, scope: Scope, id: string): Promise<ItemRow> {
    const row = await q.get<ItemRow>('SELECT * FROM mem_items WHERE tenant_id = ? AND id = ?', [
      tenantId,
      id,
    ]);
    if (row === undefined || !inScope(toMemory(row).scope, scope)) {
      throw new StrataError('E_NOT_FOUND', `memory ${id.slice(0, 100)} not found in this scope`, {
        id: id.slice(0, 100),
      });
    }
    return row;
  }

  #baseRow(tenantId: string, scope: Scope, at: { id: string; now: number; rev: number }): ItemRow {
    return {
      tenant_id: tenantId,
      id: at.id,
      kind: 'fact',
      status: 'active',
      user_id: scope.userId ?? null,
      agent_id: scope.agentId ?? null,
      run_id: scope.runId ?? null,
      text: '',
      speaker: null,
      sources: '[]',
      subject: null,
      predicate: null,
      object: null,
      entities: '[]',
      metadata: '{}',
      hash: '',
      embedder: this.embedder.id,
      vector: null,
      seq: 0,
      event_at: at.now,
      valid_from: at.now,
      valid_to: null,
      superseded_by: null,
      created_at: at.now,
      updated_at: at.now,
      rev: at.rev,
    };
  }

  async #rewrite(tx: Queryable, row: ItemRow): Promise<void> {
    await tx.run(
      `UPDATE mem_items SET status = ?, text = ?, sources = ?, subject = ?, predicate = ?, object = ?, entities = ?,
         metadata = ?, hash = ?, embedder = ?, vector = ?, valid_to = ?, superseded_by = ?, updated_at = ?, rev = ?
       WHERE tenant_id = ? AND id = ?`,
      [
        row.status,
        row.text,
        row.sources,
        row.subject,
        row.predicate,
        row.object,
        row.entities,
        row.metadata,
        row.hash,
        row.embedder,
        row.vector,
        row.valid_to,
        row.superseded_by,
        row.updated_at,
        row.rev,
        row.tenant_id,
        row.id,
      ],
    );
  }

  async #history(tx: Queryable, h: Omit<HistoryEntry, 'id'> & { tenantId: string }): Promise<void> {
    await tx.run(
      INSERT_HISTORY,
      historyValues({
        tenant_id: h.tenantId,
        id: newId('mh', h.at),
        memory_id: h.memoryId,
        event: h.event,
        old_text: h.oldText,
        new_text: h.newText,
        sources: JSON.stringify(h.sources),
        reason: h.reason,
        at: h.at,
      }),
    );
  }

  /** What the decision step may consult: stored facts of the exact scope, plus this add's own. */
  #knowledge(
    tx: Queryable,
    ctx: {
      tenantId: string;
      scope: Scope;
      index: TenantIndex;
      pending: Map<string, Known & { slotKey: string | null }>;
      vectors: Map<CandidateFact, Float32Array>;
    },
  ): { api: Knowledge; note: (d: Decision, results: readonly AddResultItem[]) => void } {
    const { tenantId, scope, index, pending } = ctx;
    const is = tx.dialect === 'postgres' ? 'IS NOT DISTINCT FROM' : 'IS';
    const api: Knowledge = {
      slot: async (subject, predicate) => {
        const key = `${subject}\u0000${predicate}`;
        for (const p of pending.values()) if (p.slotKey === key) return p;
        const row = await tx.get<ItemRow>(
          `SELECT * FROM mem_items WHERE tenant_id = ? AND subject = ? AND predicate = ? AND status = 'active'
             AND kind = 'fact' AND user_id ${is} ? AND agent_id ${is} ? AND run_id ${is} ? ORDER BY valid_from DESC, id DESC`,
          [tenantId, subject, predicate, scope.userId ?? null, scope.agentId ?? null, scope.runId ?? null],
        );
        if (row === undefined) return undefined;
        return pending.get(row.id) ?? knownOf(toMemory(row));
      },
      similar: (fact) => {
        const ranked = index.search({
          scope,
          exact: true,
          terms: terms(fact.text),
          vector: ctx.vectors.get(fact) ?? null,
          entities: [],
          filters: { kind: 'fact' },
          limit: 5,
          weights: { text: 1, vector: 0, entity: 0, recency: 0, graph: 0 },
        });
        const found = ranked.map((r) => pending.get(r.memory.id) ?? knownOf(r.memory));
        const mine = new Set(terms(fact.text));
        for (const p of pending.values()) {
          if (!found.some((f) => f.id === p.id) && terms(p.text).some((t) => mine.has(t))) found.push(p);
        }
        return Promise.resolve(found.filter((f) => !closed.has(f.id)));
      },
    };
    const closed = new Set<string>();
    const note = (d: Decision, results: readonly AddResultItem[]): void => {
      const slotKey = d.fact.slot ? `${d.fact.slot.subject}\u0000${d.fact.slot.predicate}` : null;
      if (d.event === 'DELETE') {
        closed.add(d.target.id);
        pending.delete(d.target.id);
      }
      if (d.event === 'ADD' || (d.event === 'DELETE' && d.replace)) {
        const added = results.at(-1) as AddResultItem;
        pending.set(added.id, {
          id: added.id,
          text: d.fact.text,
          object: d.fact.slot?.object ?? null,
          slotKey,
        });
      }
      if (d.event === 'UPDATE') {
        pending.set(d.target.id, {
          id: d.target.id,
          text: d.fact.text,
          object: d.fact.slot?.object ?? null,
          slotKey,
        });
      }
    };
    return { api, note };
  }

  /** Writes one decision; returns what the caller sees (a contradiction reports DELETE then ADD). */
  async #apply(
    tx: Transaction,
    w: {
      tenantId: string;
      scope: Scope;
      rev: number;
      now: number;
      metadata: Record<string, unknown>;
      decision: Decision;
      vector: Float32Array;
    },
  ): Promise<AddResultItem[]> {
    const { decision: d, tenantId } = w;
    const f = d.fact;
    if (d.event === 'NOOP')
      return [{ event: 'NOOP', id: d.target.id, text: d.target.text, reason: d.reason }];
    if (d.event === 'UPDATE') {
      const row = await this.#row(tx, tenantId, w.scope, d.target.id);
      const sources = [...new Set([...(JSON.parse(row.sources) as string[]), ...f.sources])];
      await this.#rewrite(tx, {
        ...row,
        text: f.text,
        sources: JSON.stringify(sources),
        object: f.slot?.object ?? row.object,
        entities: JSON.stringify([...new Set([...(JSON.parse(row.entities) as string[]), ...f.entities])]),
        hash: factHash(f.text),
        embedder: this.embedder.id,
        vector: vectorToBuffer(w.vector),
        updated_at: w.now,
        rev: w.rev,
      });
      await this.#history(tx, {
        tenantId,
        memoryId: row.id,
        event: 'UPDATE',
        oldText: row.text,
        newText: f.text,
        sources: f.sources,
        reason: d.reason,
        at: w.now,
      });
      return [{ event: 'UPDATE', id: row.id, text: f.text, previousText: row.text, reason: d.reason }];
    }
    const out: AddResultItem[] = [];
    const newId_ = d.event === 'ADD' || d.replace ? newId('mem', w.now) : null;
    if (d.event === 'DELETE') {
      const row = await this.#row(tx, tenantId, w.scope, d.target.id);
      await this.#rewrite(tx, {
        ...row,
        status: 'invalid',
        valid_to: Math.max(f.eventAt, Number(row.valid_from)),
        superseded_by: newId_,
        updated_at: w.now,
        rev: w.rev,
      });
      await this.#history(tx, {
        tenantId,
        memoryId: row.id,
        event: 'DELETE',
        oldText: row.text,
        newText: null,
        sources: f.sources,
        reason: d.reason,
        at: w.now,
      });
      out.push({ event: 'DELETE', id: row.id, text: row.text, reason: d.reason });
    }
    if (newId_ !== null) {
      await tx.run(
        INSERT_ITEM,
        itemValues({
          ...this.#baseRow(tenantId, w.scope, { id: newId_, now: w.now, rev: w.rev }),
          text: f.text,
          speaker: f.speaker,
          sources: JSON.stringify(f.sources),
          subject: f.slot?.subject ?? null,
          predicate: f.slot?.predicate ?? null,
          object: f.slot?.object ?? null,
          entities: JSON.stringify(f.entities),
          metadata: JSON.stringify(w.metadata),
          hash: factHash(f.text),
          vector: vectorToBuffer(w.vector),
          seq: w.rev * 1000,
          event_at: f.eventAt,
          valid_from: f.eventAt,
        }),
      );
      await this.#history(tx, {
        tenantId,
        memoryId: newId_,
        event: 'ADD',
        oldText: null,
        newText: f.text,
        sources: f.sources,
        reason: d.reason,
        at: w.now,
      });
      out.push({ event: 'ADD', id: newId_, text: f.text, reason: d.reason });
    }
    return out;
  }
}

/** How a message is stored and indexed: with its speaker, so "what did Alice say" finds it. */
function messageText(speaker: string, content: string): string {
  return `${speaker}: ${content}`;
}

function messageHash(scope: Scope, sourceId: string): string {
  return (
    'msg:' +
    createHash('sha256')
      .update(`${scopeKey(scope)}\u0000${sourceId}`)
      .digest('base64url')
  );
}

export function factHash(text: string): string {
  return 'fact:' + createHash('sha256').update(terms(text).join(' ')).digest('base64url');
}

function checkMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch (cause) {
    throw new StrataError('E_INVALID_INPUT', 'metadata must be JSON', undefined, { cause });
  }
  if (json.length > MAX_METADATA_CHARS) {
    throw new StrataError('E_PAYLOAD_TOO_LARGE', `metadata is larger than ${MAX_METADATA_CHARS} characters`);
  }
  return metadata;
}
