/**
 * Mail events as a mail extension: `message.received` is appended inside the transaction that
 * stores an inbound message (an outbox row: it commits with the message or not at all, so a crash
 * after commit loses no event), `message.sent` and `message.failed` once the relay answered. Each
 * append also queues one delivery per matching webhook in the same transaction.
 *
 * Ordering: every append first bumps the tenant's row in `mail_event_heads`, which holds that row's
 * lock until commit; the event's `seq` is drawn after it, so a tenant's events commit in `seq` order
 * and "everything after N" read at any moment is a prefix of what will ever exist after N. That is
 * what lets an SSE client resume with `Last-Event-ID` without losing or repeating an event.
 */
import {
  newId,
  systemClock,
  type Clock,
  type Queryable,
  type Store,
  type Transaction,
} from '../../kernel/index.ts';
import type { MailExtension } from './extensions.ts';
import { MAIL_EVENTS_LAYER, mailEventMigrations } from './events-migrations.ts';
import type { MailMessage } from './repo.ts';
import { enqueueDeliveries } from './webhooks.ts';

export const MAIL_EVENT_TYPES = ['message.received', 'message.sent', 'message.failed'] as const;
export type MailEventType = (typeof MAIL_EVENT_TYPES)[number];

/** What an event says about its message: headers and status, never the body. */
export interface MessageSummary {
  readonly id: string;
  readonly mailboxId: string;
  readonly threadId: string;
  readonly direction: 'in' | 'out';
  readonly status: string;
  readonly messageId: string;
  readonly subject: string;
  readonly from: { readonly address: string; readonly name: string | null };
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly receivedAt: string;
  readonly sentAt: string | null;
  readonly size: number;
  readonly authenticated: boolean;
  readonly attachments: number;
  readonly error: string | null;
}

export interface MailEvent {
  /** Increasing within a tenant; the SSE `id` and the `after` cursor. */
  readonly seq: number;
  /** `evt_…`, stable: the `webhook-id` of every delivery of this event. */
  readonly id: string;
  readonly tenant: string;
  readonly type: MailEventType;
  readonly mailboxId: string;
  readonly messageId: string;
  readonly createdAt: number;
  readonly message: MessageSummary;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const summaryOf = (m: MailMessage): MessageSummary => ({
  id: m.id,
  mailboxId: m.mailboxId,
  threadId: m.threadId,
  direction: m.direction,
  status: m.status,
  messageId: m.messageId,
  subject: m.subject,
  from: { ...m.from },
  to: [...m.to],
  cc: [...m.cc],
  receivedAt: new Date(m.receivedAt).toISOString(),
  sentAt: iso(m.sentAt),
  size: m.size,
  authenticated: m.authenticated,
  attachments: m.attachments.length,
  error: m.error,
});

type EventRow = {
  seq: number;
  id: string;
  tenant: string;
  type: MailEventType;
  mailbox_id: string;
  message_id: string;
  data: string;
  created_at: number;
};

const eventOf = (r: EventRow): MailEvent => ({
  seq: Number(r.seq),
  id: r.id,
  tenant: r.tenant,
  type: r.type,
  mailboxId: r.mailbox_id,
  messageId: r.message_id,
  createdAt: Number(r.created_at),
  message: JSON.parse(r.data) as MessageSummary,
});

export interface EventQuery {
  /** Events with a greater `seq`. @default 0 */
  readonly after?: number;
  readonly mailboxId?: string;
  /** @default 100 */
  readonly limit?: number;
}

export class MailEvents implements MailExtension {
  readonly name = 'events';
  readonly store: Store;
  readonly #clock: Clock;
  readonly #listeners = new Set<(tenant: string) => void>();

  private constructor(store: Store, clock: Clock) {
    this.store = store;
    this.#clock = clock;
  }

  static async open(options: { store: Store; clock?: Clock }): Promise<MailEvents> {
    await options.store.migrate(MAIL_EVENTS_LAYER, mailEventMigrations);
    return new MailEvents(options.store, options.clock ?? systemClock);
  }

  async onStored(tx: Transaction, message: MailMessage): Promise<void> {
    if (message.direction === 'in') await this.append(tx, 'message.received', message);
  }

  afterDelivery(messages: readonly MailMessage[]): Promise<void> {
    for (const tenant of new Set(messages.map((m) => m.tenant))) this.#notify(tenant);
    return Promise.resolve();
  }

  async afterSend(message: MailMessage): Promise<void> {
    const type = message.status === 'sent' ? 'message.sent' : 'message.failed';
    await this.store.transaction((tx) => this.append(tx, type, message));
    this.#notify(message.tenant);
  }

  /** Appends an event and queues its webhook deliveries, in `tx`. */
  async append(tx: Transaction, type: MailEventType, message: MailMessage): Promise<MailEvent> {
    const now = this.#clock.now();
    await tx.run(
      `INSERT INTO mail_event_heads (tenant, events) VALUES (?, 1)
       ON CONFLICT (tenant) DO UPDATE SET events = mail_event_heads.events + 1`,
      [message.tenant],
    );
    const row = await tx.get<EventRow>(
      `INSERT INTO mail_events (id, tenant, type, mailbox_id, message_id, data, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        newId('evt', now),
        message.tenant,
        type,
        message.mailboxId,
        message.id,
        JSON.stringify(summaryOf(message)),
        now,
      ],
    );
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    const event = eventOf(row);
    await enqueueDeliveries(tx, event, now);
    return event;
  }

  /** A tenant's events after a `seq`, oldest first. */
  async list(tenant: string, query: EventQuery = {}, q: Queryable = this.store): Promise<MailEvent[]> {
    const rows = await q.all<EventRow>(
      `SELECT * FROM mail_events WHERE tenant = ? AND seq > ?${query.mailboxId ? ' AND mailbox_id = ?' : ''}
       ORDER BY seq LIMIT ?`,
      [tenant, query.after ?? 0, ...(query.mailboxId ? [query.mailboxId] : []), query.limit ?? 100],
    );
    return rows.map(eventOf);
  }

  /** One event of the tenant by `seq`. */
  async get(tenant: string, seq: number): Promise<MailEvent | undefined> {
    const row = await this.store.get<EventRow>('SELECT * FROM mail_events WHERE tenant = ? AND seq = ?', [
      tenant,
      seq,
    ]);
    return row ? eventOf(row) : undefined;
  }

  /** The tenant's latest `seq` (0 before any event): where a stream without a cursor starts. */
  async head(tenant: string): Promise<number> {
    const row = await this.store.get<{ seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM mail_events WHERE tenant = ?',
      [tenant],
    );
    return Number(row?.seq ?? 0);
  }

  /**
   * Calls `listener(tenant)` after events of that tenant committed in this process (other
   * processes' events are found by polling). Returns the function that stops listening.
   */
  onAppended(listener: (tenant: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(tenant: string): void {
    for (const listener of this.#listeners) listener(tenant);
  }
}
