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
 * The cost is that a tenant's publishing transactions commit one after another.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Queryable, Store } from '../store/store.ts';
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

export class EventBus {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #handlers = new Map<string, Set<EventHandler>>();

  private constructor(store: Store, clock: Clock, logger?: Logger) {
    this.#store = store;
    this.#clock = clock;
    this.#logger = logger;
  }

  static async open(options: { store: Store; clock: Clock; logger?: Logger }): Promise<EventBus> {
    await options.store.migrate(EVENTS_LAYER, eventMigrations);
    return new EventBus(options.store, options.clock, options.logger);
  }

  /** Subscribes to a topic or a `prefix:*` pattern; returns the unsubscribe function. */
  subscribe(pattern: string, handler: EventHandler): () => void {
    const set = this.#handlers.get(pattern) ?? new Set<EventHandler>();
    set.add(handler);
    this.#handlers.set(pattern, set);
    return () => set.delete(handler);
  }

  /** How many handlers are subscribed (a subscriber that went away must have left). */
  get handlerCount(): number {
    let n = 0;
    for (const set of this.#handlers.values()) n += set.size;
    return n;
  }

  /** Writes an event to the outbox inside `q` (a transaction, or the store itself). */
  async publish(q: Queryable, event: { topic: string; tenantId: string; payload: unknown }): Promise<number> {
    const values = [event.topic, event.tenantId, JSON.stringify(event.payload ?? null), this.#clock.now()];
    const row =
      q.dialect === 'postgres'
        ? await q.get<{ seq: number }>(PUBLISH_IN_TENANT_ORDER, [event.tenantId, ...values])
        : await q.get<{ seq: number }>(
            'INSERT INTO kernel_outbox (topic, tenant_id, payload, ts) VALUES (?, ?, ?, ?) RETURNING seq',
            values,
          );
    return Number(row?.seq ?? 0);
  }

  /** Delivers undelivered events in order and marks them delivered; returns how many. */
  async dispatch(limit = 500): Promise<number> {
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
      await this.#store.run('UPDATE kernel_outbox SET delivered_at = ? WHERE seq = ?', [
        this.#clock.now(),
        row.seq,
      ]);
    }
    return rows.length;
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
