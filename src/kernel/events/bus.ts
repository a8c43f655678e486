/**
 * @module kernel/events/bus
 * The in-process event bus with a transactional outbox. `publish(tx, topic, payload)` writes the
 * event in the caller's transaction, so an event exists if and only if the change that caused it
 * committed; `dispatch()` then delivers it to subscribers and marks it delivered. After a crash,
 * `recover()` delivers what was committed but never delivered (at-least-once: subscribers must be
 * idempotent, keyed by the event's `seq`).
 *
 * Topics are namespaced with colons (`token:revoked`, `run:step:failed`); a subscription to
 * `run:*` receives every topic under `run:`.
 *
 * A tenant's events commit in `seq` order: on PostgreSQL a publish first takes a transaction lock
 * per tenant, so a later seq of the tenant can never become visible before an earlier one. A
 * reader of one tenant's feed can therefore keep just the last seq it saw (kernel/events/feed.ts).
 * The cost is that a tenant's publishing transactions commit one after another. To keep that cheap,
 * publishers take the lock as late as they can and once per transaction: `publishMany` writes all
 * of a transaction's events with one statement that takes each tenant's lock (in tenant order, so
 * two transactions never wait on each other's locks) right before the insert, and callers publish
 * last, after their own row locks, so the lock is held only for the commit itself.
 *
 * Why the run engine's hot paths publish inside their own statement: measured on the fleet bench
 * (bench/strata: sequential starts, three-step workflows at concurrency 50, 5,000 no-op jobs), a
 * first version that wrapped each claim, group-committed start and completion batch in a
 * transaction to call `publishMany` (BEGIN, the change, the publish, COMMIT: four round trips
 * instead of one) doubled start latency and lost half the job throughput. Those three now write
 * their events in the same statement as the change (orchestration/run-events.ts
 * `publishingRunChanges`: the row locks, then the tenant locks, then the inserts), one event row
 * per run; SQLite writes them with triggers on orch_runs (run-event-triggers.ts). What remains is
 * the outbox rows themselves (a job now writes three: queued, running, completed).
 *
 * Delivery: while anything is subscribed, the bus dispatches on its own when what it was told of
 * has committed: a publish (or `poke`) in a transaction asks for a dispatch when that transaction
 * commits (`tx.afterCommit`; none if it rolls back), one outside a transaction at once. Requests
 * that arrive before the dispatch starts share it, so a transaction of N events, or a burst of
 * commits in one turn of the event loop, costs one outbox read; one that arrives while a dispatch
 * runs gets one more after it (that read may have missed the commit). An in-process subscriber
 * thus hears of an event right after its commit, and an idle bus reads nothing. A reader that
 * follows the outbox by seq itself, as the `GET /v1/events` stream does, needs only a wake-up: it
 * `watch`es instead, which costs no outbox read and no delivered-mark per commit. Events written
 * elsewhere (another process, or code over a bare store calling `publishEvent`) wait for the next
 * dispatch or `checkHead()` (a stream's periodic check of the outbox's highest seq), or `recover()`.
 * Pruning: every `pruneEveryMs` a publish or dispatch also deletes events older than `retentionMs`
 * (default a day). Undelivered ones go too: subscribers are live pages, and one that was away
 * longer than the retention gets a `reset` from the stream (its cursor is below the outbox's floor).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Queryable, Store, Transaction } from '../store/store.ts';
import { EVENTS_LAYER, eventMigrations } from './migrations.ts';

export interface StrataEvent {
  /** Increasing per store; the resume point of a subscriber. */
  readonly seq: number;
  readonly topic: string;
  readonly tenantId: string;
  readonly payload: unknown;
  readonly ts: number;
}

export type EventHandler = (event: StrataEvent) => void | Promise<void>;

export interface NewEvent {
  readonly topic: string;
  readonly tenantId: string;
  readonly payload: unknown;
}

export interface EventBusOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Events older than this are pruned. @default 86_400_000 (24 h) */
  readonly retentionMs?: number;
  /** How often (clock time) a publish or dispatch prunes. @default 600_000 (10 min) */
  readonly pruneEveryMs?: number;
}

/** Events per INSERT: 4 parameters each, well under both engines' limits. */
const PUBLISH_CHUNK = 250;
/** Events per dispatch (one outbox read); a full page is followed by another at once. */
const DISPATCH_PAGE = 500;

/** A transaction handle (it can defer work to its commit), as opposed to the store itself. */
const isTransaction = (q: Queryable): q is Transaction =>
  typeof (q as Partial<Transaction>).afterCommit === 'function';

type OutboxRow = { seq: number; topic: string; tenant_id: string; payload: string; ts: number };

const toEvent = (row: OutboxRow): StrataEvent => ({
  seq: row.seq,
  topic: row.topic,
  tenantId: row.tenant_id,
  payload: JSON.parse(row.payload) as unknown,
  ts: row.ts,
});

/** Whether `topic` matches `pattern` (`a:b` itself, `a:*` anything under `a:`, `*` everything). */
export function topicMatches(pattern: string, topic: string): boolean {
  return (
    pattern === topic || pattern === '*' || (pattern.endsWith(':*') && topic.startsWith(pattern.slice(0, -1)))
  );
}

/** PostgreSQL: the per-tenant lock is taken before `nextval`, in the same statement (see above). */
const PUBLISH_IN_TENANT_ORDER = `WITH ordered AS (SELECT pg_advisory_xact_lock(hashtext('kernel.outbox:' || ?)))
  INSERT INTO kernel_outbox (topic, tenant_id, payload, ts)
  SELECT ?::text, ?::text, ?::text, ?::bigint FROM ordered RETURNING seq`;

/** PostgreSQL, many events: every tenant's lock (in the order given) before any `nextval`. */
function publishManyInTenantOrder(tenants: number, events: number): string {
  const marks = (n: number, row: string): string => Array.from({ length: n }, () => row).join(', ');
  return `WITH locks AS (
      SELECT pg_advisory_xact_lock(hashtext('kernel.outbox:' || t)) FROM (VALUES ${marks(tenants, '(?::text)')}) l (t)),
    locked AS (SELECT count(*) AS n FROM locks)
  INSERT INTO kernel_outbox (topic, tenant_id, payload, ts)
  SELECT v.topic, v.tenant_id, v.payload, ?::bigint
  FROM (VALUES ${marks(events, '(?::int, ?::text, ?::text, ?::text)')}) v (i, topic, tenant_id, payload)
  CROSS JOIN locked ORDER BY v.i RETURNING seq`;
}

/**
 * Writes an event to the outbox in `q` without a bus at hand (code over a bare store or
 * transaction); returns its seq. A bus dispatches it at its next dispatch, not at once.
 */
export async function publishEvent(q: Queryable, event: NewEvent, now: number): Promise<number> {
  const values = [event.topic, event.tenantId, JSON.stringify(event.payload ?? null), now];
  const row =
    q.dialect === 'postgres'
      ? await q.get<{ seq: number }>(PUBLISH_IN_TENANT_ORDER, [event.tenantId, ...values])
      : await q.get<{ seq: number }>(
          'INSERT INTO kernel_outbox (topic, tenant_id, payload, ts) VALUES (?, ?, ?, ?) RETURNING seq',
          values,
        );
  return Number(row?.seq ?? 0);
}

/**
 * Writes several events in `q` with one statement per 250 (on PostgreSQL the tenants' locks taken
 * once, in tenant order), without a bus at hand; returns the highest seq (0 for none). Publish last
 * in a transaction: see the module comment.
 */
export async function publishEvents(q: Queryable, events: readonly NewEvent[], now: number): Promise<number> {
  let last = 0;
  for (let start = 0; start < events.length; start += PUBLISH_CHUNK) {
    const chunk = events.slice(start, start + PUBLISH_CHUNK);
    const payloads = chunk.map((e) => JSON.stringify(e.payload ?? null));
    let rows: { seq: number }[];
    if (q.dialect === 'postgres') {
      const tenants = [...new Set(chunk.map((e) => e.tenantId))].sort();
      rows = await q.all<{ seq: number }>(publishManyInTenantOrder(tenants.length, chunk.length), [
        ...tenants,
        now,
        ...chunk.flatMap((e, i) => [i, e.topic, e.tenantId, payloads[i] ?? 'null']),
      ]);
    } else {
      rows = await q.all<{ seq: number }>(
        `INSERT INTO kernel_outbox (topic, tenant_id, payload, ts) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
         RETURNING seq`,
        chunk.flatMap((e, i) => [e.topic, e.tenantId, payloads[i] ?? 'null', now]),
      );
    }
    last = Math.max(last, ...rows.map((r) => Number(r.seq)));
  }
  return last;
}

/**
 * Told after each commit in this process that wrote events: their tenants and topics when the bus
 * wrote them, undefined when they were written without it (`poke`, another process's, seen by
 * {@link EventBus.checkHead}). It is not given the events: it reads what it needs by seq.
 */
export type CommitWatcher = (written: readonly Pick<NewEvent, 'tenantId' | 'topic'>[] | undefined) => void;

export class EventBus {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #watchers = new Set<CommitWatcher>();
  /** The highest seq {@link checkHead} has seen. */
  #head = 0;
  readonly #retentionMs: number;
  readonly #pruneEveryMs: number;
  #prunedAt: number;
  /** One dispatch at a time in this process: two would deliver the same events twice. */
  #dispatching: Promise<unknown> = Promise.resolve();
  /** A dispatch was asked for (a commit, a publish outside a transaction) and has not started yet. */
  #wanted = false;
  /** The loop running asked-for dispatches is scheduled or running. */
  #draining = false;

  private constructor(options: EventBusOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#retentionMs = options.retentionMs ?? 86_400_000;
    this.#pruneEveryMs = options.pruneEveryMs ?? 600_000;
    this.#prunedAt = options.clock.now();
  }

  static async open(options: EventBusOptions): Promise<EventBus> {
    await options.store.migrate(EVENTS_LAYER, eventMigrations);
    return new EventBus(options);
  }

  /** Subscribes to a topic or a `prefix:*` pattern; returns the unsubscribe function. */
  subscribe(pattern: string, handler: EventHandler): () => void {
    const set = this.#handlers.get(pattern) ?? new Set<EventHandler>();
    set.add(handler);
    this.#handlers.set(pattern, set);
    return () => set.delete(handler);
  }

  /**
   * Calls `watcher` after each commit of events in this process, without a dispatch: for readers
   * that follow the outbox by seq themselves (the live streams, server/shared-feed.ts), which need
   * a wake-up, not the events. A subscription makes every commit cost an outbox read and a write
   * marking the events delivered; a watcher costs a function call. Returns the unwatch function.
   */
  watch(watcher: CommitWatcher): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** How many handlers and watchers are registered (a subscriber that went away must have left). */
  get handlerCount(): number {
    return this.#subscribed() + this.#watchers.size;
  }

  #subscribed(): number {
    let n = 0;
    for (const set of this.#handlers.values()) n += set.size;
    return n;
  }

  /**
   * Wakes the watchers (and dispatches, if anything is subscribed) when the outbox's highest seq has
   * moved since the last check: how events committed by another process reach this one's streams.
   */
  async checkHead(): Promise<void> {
    const row = await this.#store.get<{ head: unknown }>('SELECT MAX(seq) AS head FROM kernel_outbox');
    const head = Number(row?.head ?? 0);
    if (head === this.#head) return;
    this.#head = head;
    this.#wake(undefined);
  }

  /** Writes an event to the outbox inside `q` (a transaction, or the store itself). */
  async publish(q: Queryable, event: NewEvent): Promise<number> {
    const seq = await publishEvent(q, event, this.#clock.now());
    this.#published(q, [event]);
    return seq;
  }

  /**
   * Writes several events inside `q` with one statement per 250 (and, on PostgreSQL, the tenants'
   * locks taken once, in tenant order). Publish last in a transaction: see the module comment.
   */
  async publishMany(q: Queryable, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await publishEvents(q, events, this.#clock.now());
    this.#published(q, events);
  }

  /** Delivers undelivered events in order and marks them delivered; returns how many. */
  dispatch(limit = DISPATCH_PAGE): Promise<number> {
    const run = this.#dispatching.then(() => this.#dispatchNow(limit));
    this.#dispatching = run.catch(() => undefined);
    return run;
  }

  async #dispatchNow(limit: number): Promise<number> {
    const rows = await this.#store.all<OutboxRow>(
      'SELECT seq, topic, tenant_id, payload, ts FROM kernel_outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?',
      [limit],
    );
    for (const row of rows) {
      const event = toEvent(row);
      for (const handler of this.#matching(event.topic)) {
        try {
          await handler(event);
        } catch (error) {
          this.#logger?.error({ err: error, topic: event.topic, seq: event.seq }, 'event handler failed');
        }
      }
    }
    if (rows.length > 0) {
      const seqs = rows.map((r) => Number(r.seq));
      await this.#store.run(
        `UPDATE kernel_outbox SET delivered_at = ? WHERE seq IN (${seqs.map(() => '?').join(', ')})`,
        [this.#clock.now(), ...seqs],
      );
    }
    this.#maybePrune();
    return rows.length;
  }

  /**
   * Deletes events older than the retention (or than `before`, epoch ms); returns how many. A
   * reader whose cursor was below them gets a reset (feed.ts `isGap`).
   */
  async prune(before = this.#clock.now() - this.#retentionMs): Promise<number> {
    this.#prunedAt = this.#clock.now();
    const done = await this.#store.run('DELETE FROM kernel_outbox WHERE ts < ?', [before]);
    return done.changes;
  }

  #maybePrune(): void {
    if (this.#clock.now() - this.#prunedAt < this.#pruneEveryMs) return;
    this.#prunedAt = this.#clock.now();
    this.prune().catch((error: unknown) => this.#logger?.warn({ err: error }, 'event outbox prune failed'));
  }

  /**
   * Tells the bus that events were written in `q` without it (database triggers, a statement that
   * writes its own events): dispatched once `q` commits, as after a publish. Without `q` (or with
   * the store), the events are taken to be committed already.
   */
  poke(q?: Queryable): void {
    this.#published(q ?? this.#store, undefined);
  }

  /** After a publish or poke in `q`: a dispatch once `q` has committed (now, outside a transaction). */
  #published(q: Queryable, written: readonly NewEvent[] | undefined): void {
    this.#maybePrune();
    if (isTransaction(q)) q.afterCommit(() => this.#wake(written));
    else this.#wake(written);
  }

  /**
   * Tells the watchers, then asks for a dispatch while anything is subscribed. The dispatch starts on
   * the next turn of the event loop, so that what commits meanwhile shares it; one asked for while
   * it runs follows it.
   */
  #wake(written: readonly NewEvent[] | undefined): void {
    for (const watcher of this.#watchers) {
      try {
        watcher(written);
      } catch (error) {
        this.#logger?.error({ err: error }, 'event watcher failed');
      }
    }
    if (this.#subscribed() === 0) return;
    this.#wanted = true;
    if (this.#draining) return;
    this.#draining = true;
    // Not unref'd: an unref'd immediate lets the loop block in its poll phase until the next timer
    // or I/O, which delayed delivery by milliseconds (one turn is all it holds the process for).
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    while (this.#wanted) {
      this.#wanted = false;
      try {
        while ((await this.dispatch()) === DISPATCH_PAGE);
      } catch (error) {
        // Left undelivered for the next dispatch (the next commit's, the stream's periodic one).
        this.#logger?.warn({ err: error }, 'event outbox dispatch failed');
      }
    }
    this.#draining = false;
  }

  /** Delivers everything left undelivered by a previous process (call once at start). */
  async recover(): Promise<number> {
    let total = 0;
    for (let n = await this.dispatch(); n > 0; n = await this.dispatch()) total += n;
    return total;
  }

  /** Events after `seq`, for a subscriber resuming from where it stopped. */
  async since(seq: number, limit = 500): Promise<StrataEvent[]> {
    const rows = await this.#store.all<OutboxRow>(
      'SELECT seq, topic, tenant_id, payload, ts FROM kernel_outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      [seq, limit],
    );
    return rows.map(toEvent);
  }

  #matching(topic: string): EventHandler[] {
    const out: EventHandler[] = [];
    for (const [pattern, set] of this.#handlers) if (topicMatches(pattern, topic)) out.push(...set);
    return out;
  }
}
