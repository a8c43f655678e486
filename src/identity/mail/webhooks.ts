/**
 * Webhooks of a tenant, optionally of one mailbox, and their deliveries. The secret is sealed with
 * the master key (bound to the webhook's id) and returned once, by `create`; lists never carry it,
 * and neither do delivery errors. URLs toward private or loopback addresses are refused unless
 * `allowPrivate` (tests), the same guard as A2A push notifications (`a2a/net-guard.ts`), checked
 * again when connecting.
 */
import {
  newId,
  openSealed,
  seal,
  StrataError,
  type Clock,
  type Queryable,
  type Store,
} from '../../kernel/index.ts';
import { assertOutboundUrl } from '../net-guard.ts';
import type { MailEvent, MailEventType } from './events.ts';
import { newWebhookSecret } from './webhook-signature.ts';

export interface Webhook {
  readonly id: string;
  readonly tenant: string;
  readonly mailboxId: string | null;
  readonly url: string;
  readonly events: readonly MailEventType[];
  readonly createdAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  readonly attempt: number;
  readonly at: number;
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly error: string | null;
}

export interface Delivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventSeq: number;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAt: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly log: readonly DeliveryAttempt[];
}

type WebhookRow = {
  id: string;
  tenant: string;
  mailbox_id: string | null;
  url: string;
  secret_sealed: string;
  events: string;
  created_at: number;
};

type DeliveryRow = {
  id: string;
  webhook_id: string;
  event_seq: number;
  status: DeliveryStatus;
  attempts: number;
  next_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
};

const webhookOf = (r: WebhookRow): Webhook => ({
  id: r.id,
  tenant: r.tenant,
  mailboxId: r.mailbox_id,
  url: r.url,
  events: JSON.parse(r.events) as MailEventType[],
  createdAt: Number(r.created_at),
});

const aad = (id: string): string => `mail-webhook:${id}`;

/** Queues a delivery of `event` for every webhook of its tenant that wants it, in the event's transaction. */
export async function enqueueDeliveries(q: Queryable, event: MailEvent, now: number): Promise<void> {
  const hooks = await q.all<Pick<WebhookRow, 'id' | 'mailbox_id' | 'events'>>(
    'SELECT id, mailbox_id, events FROM mail_webhooks WHERE tenant = ?',
    [event.tenant],
  );
  for (const hook of hooks) {
    if (hook.mailbox_id !== null && hook.mailbox_id !== event.mailboxId) continue;
    if (!(JSON.parse(hook.events) as string[]).includes(event.type)) continue;
    await q.run(
      `INSERT INTO mail_deliveries (id, tenant, webhook_id, event_seq, status, attempts, next_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
      [newId('dlv', now), event.tenant, hook.id, event.seq, now, now],
    );
  }
}

export class MailWebhooks {
  readonly #o: { store: Store; masterKey: Buffer; clock: Clock; allowPrivate: boolean };

  constructor(options: { store: Store; masterKey: Buffer; clock: Clock; allowPrivate?: boolean }) {
    this.#o = { ...options, allowPrivate: options.allowPrivate ?? false };
  }

  get allowPrivate(): boolean {
    return this.#o.allowPrivate;
  }

  /** Registers a webhook; the secret (given or generated) is in the answer and nowhere else. */
  async create(input: {
    tenant: string;
    url: string;
    mailboxId?: string;
    events: readonly MailEventType[];
    secret?: string;
  }): Promise<{ webhook: Webhook; secret: string }> {
    try {
      assertOutboundUrl(input.url, { allowPrivate: this.#o.allowPrivate });
    } catch (error) {
      const reason = error instanceof StrataError ? (error.data as { reason?: string }).reason : undefined;
      throw new StrataError('E_INVALID_INPUT', `webhook url refused: ${reason ?? 'invalid'}`, {
        issues: [{ path: ['url'], message: reason ?? 'invalid' }],
      });
    }
    const now = this.#o.clock.now();
    const secret = input.secret ?? newWebhookSecret();
    const row: WebhookRow = {
      id: newId('whk', now),
      tenant: input.tenant,
      mailbox_id: input.mailboxId ?? null,
      url: input.url,
      secret_sealed: '',
      events: JSON.stringify([...new Set(input.events)]),
      created_at: now,
    };
    row.secret_sealed = seal(this.#o.masterKey, Buffer.from(secret, 'utf8'), aad(row.id));
    await this.#o.store.run(
      `INSERT INTO mail_webhooks (id, tenant, mailbox_id, url, secret_sealed, events, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [row.id, row.tenant, row.mailbox_id, row.url, row.secret_sealed, row.events, row.created_at],
    );
    return { webhook: webhookOf(row), secret };
  }

  async list(tenant: string): Promise<Webhook[]> {
    const rows = await this.#o.store.all<WebhookRow>(
      'SELECT * FROM mail_webhooks WHERE tenant = ? ORDER BY id',
      [tenant],
    );
    return rows.map(webhookOf);
  }

  async get(tenant: string, id: string): Promise<Webhook> {
    return webhookOf(await this.#row(tenant, id));
  }

  /** Deletes a webhook; its pending deliveries are dropped, its log kept until then. */
  async delete(tenant: string, id: string): Promise<void> {
    await this.#row(tenant, id);
    await this.#o.store.transaction(async (tx) => {
      await tx.run(
        'DELETE FROM mail_delivery_attempts WHERE delivery_id IN (SELECT id FROM mail_deliveries WHERE webhook_id = ?)',
        [id],
      );
      await tx.run('DELETE FROM mail_deliveries WHERE webhook_id = ?', [id]);
      await tx.run('DELETE FROM mail_webhooks WHERE id = ?', [id]);
    });
  }

  /** The webhook's target and opened secret, for the dispatcher only. */
  async target(id: string): Promise<{ webhook: Webhook; secret: string } | undefined> {
    const row = await this.#o.store.get<WebhookRow>('SELECT * FROM mail_webhooks WHERE id = ?', [id]);
    if (!row) return undefined;
    const secret = openSealed(this.#o.masterKey, row.secret_sealed, aad(row.id)).toString('utf8');
    return { webhook: webhookOf(row), secret };
  }

  /** A webhook's deliveries, newest first, each with its attempts. */
  async deliveries(
    tenant: string,
    webhookId: string,
    options: { limit?: number; status?: DeliveryStatus } = {},
  ): Promise<Delivery[]> {
    await this.#row(tenant, webhookId);
    const rows = await this.#o.store.all<DeliveryRow>(
      `SELECT * FROM mail_deliveries WHERE webhook_id = ?${options.status ? ' AND status = ?' : ''}
       ORDER BY event_seq DESC LIMIT ?`,
      [webhookId, ...(options.status ? [options.status] : []), options.limit ?? 50],
    );
    const out: Delivery[] = [];
    for (const r of rows) {
      const log = await this.#o.store.all<{
        attempt: number;
        at: number;
        status_code: number | null;
        duration_ms: number;
        error: string | null;
      }>('SELECT * FROM mail_delivery_attempts WHERE delivery_id = ? ORDER BY attempt', [r.id]);
      out.push({
        id: r.id,
        webhookId: r.webhook_id,
        eventSeq: Number(r.event_seq),
        status: r.status,
        attempts: r.attempts,
        nextAt: Number(r.next_at),
        lastStatus: r.last_status,
        lastError: r.last_error,
        createdAt: Number(r.created_at),
        finishedAt: r.finished_at === null ? null : Number(r.finished_at),
        log: log.map((a) => ({
          attempt: a.attempt,
          at: Number(a.at),
          statusCode: a.status_code,
          durationMs: Number(a.duration_ms),
          error: a.error,
        })),
      });
    }
    return out;
  }

  async #row(tenant: string, id: string): Promise<WebhookRow> {
    const row = await this.#o.store.get<WebhookRow>(
      'SELECT * FROM mail_webhooks WHERE tenant = ? AND id = ?',
      [tenant, id],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no webhook ${id}`, { id });
    return row;
  }
}
