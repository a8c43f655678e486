/**
 * @module orchestration/approvals/webhook-dispatcher
 * Sends approval events from the outbox (`orch_approval_deliveries`), in every Strata process
 * sharing the store, with the mail dispatcher's discipline and its shared parts (the dispatch loop,
 * the signed attempt and the retry schedule of identity/mail/webhook-outbox.ts):
 *
 * - a due delivery is claimed by one conditional UPDATE (pending, due, lease free) that sets a
 *   lease and bumps `attempts`; the result is written only while `attempts` is still the claimed
 *   one, so a process whose lease ran out cannot overwrite the attempt that took over;
 * - a crash or restart loses nothing: rows stay pending until a 2xx is recorded (at least once:
 *   receivers deduplicate on `webhook-id`, the event id, the same on every attempt);
 * - retries back off exponentially with jitter (half to full of `baseDelayMs·2^(n-1)`, capped at
 *   `maxDelayMs`), then `failed` after `maxAttempts`.
 */
import { DispatchLoop, retryAt, sendSignedWebhook, type AttemptResult } from '../../identity/index.ts';
import { systemClock, type Clock, type Logger, type Store } from '../../kernel/index.ts';
import type { ApprovalWebhooks } from './webhooks.ts';

export interface ApprovalWebhookDeliveryOptions {
  /** How often due deliveries are looked for (events of this process wake it at once). @default 1000 */
  readonly intervalMs?: number;
  /** @default 8 */
  readonly maxAttempts?: number;
  /** @default 1000 */
  readonly baseDelayMs?: number;
  /** @default 1 hour */
  readonly maxDelayMs?: number;
  /** Per request. @default 10 000 */
  readonly timeoutMs?: number;
}

const DEFAULTS = {
  intervalMs: 1000,
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 3_600_000,
  timeoutMs: 10_000,
} as const satisfies ApprovalWebhookDeliveryOptions;

type Claimed = { id: string; webhook_id: string; event_id: string; attempts: number };

export class ApprovalWebhookDispatcher {
  readonly #o: Required<ApprovalWebhookDeliveryOptions>;
  readonly #store: Store;
  readonly #webhooks: ApprovalWebhooks;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #loop: DispatchLoop;

  constructor(parts: {
    store: Store;
    webhooks: ApprovalWebhooks;
    logger: Logger;
    clock?: Clock;
    options?: ApprovalWebhookDeliveryOptions;
  }) {
    this.#store = parts.store;
    this.#webhooks = parts.webhooks;
    this.#logger = parts.logger;
    this.#clock = parts.clock ?? systemClock;
    this.#o = { ...DEFAULTS, ...parts.options };
    this.#loop = new DispatchLoop(() => this.deliverDue(), {
      intervalMs: this.#o.intervalMs,
      logger: this.#logger,
      failure: 'approval webhook round failed',
    });
  }

  /** Starts the periodic look and sends what is already due (left by an earlier process). */
  start(): void {
    this.#loop.start();
    this.#loop.kick();
  }

  /** Looks for due deliveries now (coalesced with a round in progress). */
  kick(): void {
    this.#loop.kick();
  }

  /** Stops and waits for the deliveries in flight (each bounded by `timeoutMs`). */
  stop(): Promise<void> {
    return this.#loop.stop();
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
    const now = this.#clock.now();
    const due = await this.#store.all<{ id: string }>(
      `SELECT id FROM orch_approval_deliveries WHERE status = 'pending' AND next_at <= ?
       AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_at, id LIMIT 10`,
      [now, now],
    );
    const claimed: Claimed[] = [];
    for (const { id } of due) {
      const row = await this.#store.get<Claimed>(
        `UPDATE orch_approval_deliveries SET lease_until = ?, attempts = attempts + 1
         WHERE id = ? AND status = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
         RETURNING id, webhook_id, event_id, attempts`,
        [now + this.#o.timeoutMs * 3, id, now, now],
      );
      if (row) claimed.push({ ...row, attempts: Number(row.attempts) });
    }
    return claimed;
  }

  async #attempt(d: Claimed): Promise<void> {
    const target = await this.#webhooks.target(d.webhook_id);
    const event = await this.#store.get<{ body: string }>(
      'SELECT body FROM orch_approval_events WHERE id = ?',
      [d.event_id],
    );
    if (!target || !event) return; // the endpoint was deleted meanwhile, with its deliveries
    const result = await sendSignedWebhook({
      url: target.url,
      secret: target.secret,
      id: d.event_id,
      body: event.body,
      nowMs: this.#clock.now(),
      timeoutMs: this.#o.timeoutMs,
      allowPrivate: this.#webhooks.allowPrivate,
    });
    await this.#record(d, result);
    if (result.error !== null)
      this.#logger.warn(
        {
          webhook: d.webhook_id,
          delivery: d.id,
          attempt: d.attempts,
          statusCode: result.statusCode,
          error: result.error,
        },
        'approval webhook attempt failed',
      );
  }

  async #record(d: Claimed, result: AttemptResult): Promise<void> {
    const now = this.#clock.now();
    const done = result.error === null;
    const failed = !done && d.attempts >= this.#o.maxAttempts;
    const nextAt = retryAt(d.attempts, this.#o, now);
    const updated = await this.#store.run(
      `UPDATE orch_approval_deliveries SET status = ?, next_at = ?, lease_until = NULL, last_status = ?,
         last_error = ?, finished_at = ? WHERE id = ? AND attempts = ?`,
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
    if (updated.changes === 1 && !done && !failed) this.#loop.kickAt(nextAt, now);
  }
}
