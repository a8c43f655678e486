/**
 * Delivers queued webhook deliveries, in process, from every Strata process sharing the store.
 *
 * Claiming: a due delivery is taken with a conditional UPDATE (still pending, due, lease free) that
 * sets a lease and bumps `attempts`; only the process whose UPDATE changed the row sends it, so
 * several processes on one PostgreSQL never send the same attempt twice. The result is written only
 * while `attempts` still equals the claimed attempt: a process whose lease ran out (stalled, or
 * died mid-request) cannot overwrite the attempt that took over. A crash loses no delivery — the
 * lease expires and the next claim retries it (delivery is at least once: receivers deduplicate
 * on `webhook-id`).
 *
 * Retries: exponential backoff with jitter (half to full of `baseDelayMs·2^(n-1)`, capped at
 * `maxDelayMs`), then `failed` after `maxAttempts`. Every attempt is logged (status code, duration,
 * error). Bodies larger than `inlineLimitBytes` go by reference (the summary and how to fetch the
 * message), flagged `byReference`, never truncated.
 */
import { systemClock, type Clock, type Logger, type Store } from '../../kernel/index.ts';
import type { MailEvent, MailEvents } from './events.ts';
import { messageOut } from './message-schema.ts';
import type { MailMessage } from './repo.ts';
import { DispatchLoop, retryAt, sendSignedWebhook, type AttemptResult } from './webhook-outbox.ts';
import type { MailWebhooks } from './webhooks.ts';

export interface WebhookDispatcherOptions {
  readonly store: Store;
  readonly events: MailEvents;
  readonly webhooks: MailWebhooks;
  /** Loads the full message of an event (the mail service's `get`). */
  readonly message: (tenant: string, id: string) => Promise<MailMessage>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How often due deliveries are looked for (new events of this process wake it at once). @default 1000 */
  readonly intervalMs?: number;
  /** @default 8 */
  readonly maxAttempts?: number;
  /** @default 1000 */
  readonly baseDelayMs?: number;
  /** @default 1 hour */
  readonly maxDelayMs?: number;
  /** Per request. @default 10 000 */
  readonly timeoutMs?: number;
  /** @default 256 KiB */
  readonly inlineLimitBytes?: number;
  /** Deliveries claimed per round. @default 10 */
  readonly batch?: number;
}

export const WEBHOOK_DEFAULTS = {
  intervalMs: 1000,
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 3_600_000,
  timeoutMs: 10_000,
  inlineLimitBytes: 256 * 1024,
  batch: 10,
} as const satisfies Partial<WebhookDispatcherOptions>;

type Settings = Required<Omit<WebhookDispatcherOptions, 'clock'>> & { readonly clock: Clock };

type Claimed = { id: string; tenant: string; webhook_id: string; event_seq: number; attempts: number };

/** The JSON body of an event: the message inline when it fits, else by reference. */
export function webhookBody(event: MailEvent, message: MailMessage | undefined, limitBytes: number): string {
  const envelope = {
    id: event.id,
    type: event.type,
    seq: event.seq,
    createdAt: new Date(event.createdAt).toISOString(),
  };
  if (message) {
    const inline = JSON.stringify({
      ...envelope,
      data: { message: messageOut(message, true), byReference: false },
    });
    if (Buffer.byteLength(inline) <= limitBytes) return inline;
  }
  return JSON.stringify({
    ...envelope,
    data: {
      message: event.message,
      byReference: true,
      fetch: { syscall: 'mail.get', path: '/v1/syscalls/mail.get', input: { id: event.messageId } },
    },
  });
}

export class WebhookDispatcher {
  readonly #o: Settings;
  readonly #loop: DispatchLoop;
  #unsubscribe: (() => void) | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = { ...WEBHOOK_DEFAULTS, clock: systemClock, ...options };
    this.#loop = new DispatchLoop(() => this.deliverDue(), {
      intervalMs: this.#o.intervalMs,
      logger: this.#o.logger,
      failure: 'webhook dispatch round failed',
    });
  }

  /** Starts the timer (unref'd: it never keeps a process alive) and the in-process wake-up. */
  start(): void {
    if (!this.#loop.stopped) return;
    this.#loop.start();
    this.#unsubscribe = this.#o.events.onAppended(() => this.kick());
  }

  /** Looks for due deliveries now (coalesced with a round in progress). */
  kick(): void {
    this.#loop.kick();
  }

  /** Stops the timer and waits for the deliveries in flight (each bounded by `timeoutMs`). */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#loop.stop();
  }

  /** Claims and sends due deliveries until none is left; returns how many attempts were made. */
  async deliverDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.#claim();
      if (claimed.length === 0) return total;
      total += claimed.length;
      await Promise.all(claimed.map((d) => this.#attempt(d)));
    }
  }

  async #claim(): Promise<Claimed[]> {
    const now = this.#o.clock.now();
    const due = await this.#o.store.all<{ id: string }>(
      `SELECT id FROM mail_deliveries WHERE status = 'pending' AND next_at <= ?
       AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_at, id LIMIT ?`,
      [now, now, this.#o.batch],
    );
    const claimed: Claimed[] = [];
    for (const { id } of due) {
      const row = await this.#o.store.get<Claimed>(
        `UPDATE mail_deliveries SET lease_until = ?, attempts = attempts + 1
         WHERE id = ? AND status = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
         RETURNING id, tenant, webhook_id, event_seq, attempts`,
        [now + this.#o.timeoutMs * 3, id, now, now],
      );
      if (row) claimed.push(row);
    }
    return claimed;
  }

  async #attempt(d: Claimed): Promise<void> {
    const target = await this.#o.webhooks.target(d.webhook_id);
    const event = await this.#o.events.get(d.tenant, Number(d.event_seq));
    if (!target || !event) return; // deleted meanwhile: its deliveries went with it
    const message = await this.#o.message(d.tenant, event.messageId).catch(() => undefined);
    const result = await sendSignedWebhook({
      url: target.webhook.url,
      secret: target.secret,
      id: event.id,
      body: webhookBody(event, message, this.#o.inlineLimitBytes),
      nowMs: this.#o.clock.now(),
      timeoutMs: this.#o.timeoutMs,
      allowPrivate: this.#o.webhooks.allowPrivate,
    });
    await this.#record(d, result);
    const { statusCode, error } = result;
    if (error !== null) {
      this.#o.logger.warn(
        { webhook: d.webhook_id, delivery: d.id, attempt: d.attempts, statusCode, error },
        'webhook delivery attempt failed',
      );
    }
  }

  async #record(d: Claimed, result: AttemptResult) {
    const now = this.#o.clock.now();
    const done = result.error === null;
    const failed = !done && d.attempts >= this.#o.maxAttempts;
    const nextAt = retryAt(d.attempts, this.#o, now);
    await this.#o.store.transaction(async (tx) => {
      const updated = await tx.run(
        `UPDATE mail_deliveries SET status = ?, next_at = ?, lease_until = NULL, last_status = ?, last_error = ?,
           finished_at = ? WHERE id = ? AND attempts = ?`,
        [
          done ? 'delivered' : failed ? 'failed' : 'pending',
          done || failed ? now : nextAt,
          result.statusCode,
          result.error,
          done || failed ? now : null,
          d.id,
          d.attempts,
        ],
      );
      if (updated.changes === 0) return; // another process took the delivery over
      await tx.run(
        `INSERT INTO mail_delivery_attempts (delivery_id, attempt, at, status_code, duration_ms, error)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [d.id, d.attempts, now, result.statusCode, result.durationMs, result.error],
      );
    });
    if (!done && !failed) this.#loop.kickAt(nextAt, now);
  }
}
