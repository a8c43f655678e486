/**
 * @module identity/mail/relay-health
 * Outbound mail's health reading (kernel/health.ts): the SMTP relay, from the outcome of the sends
 * this process made (no probe connection), and the caller tenant's outbox, from one indexed query.
 * - **unhealthy**: `failThreshold` sends in a row failed (the relay refused the connection, timed
 *   out, or refused the message), counting deferrals among them;
 * - **degraded**: as many in a row were only deferred (4xx: greylisting, a busy relay), or outgoing
 *   mail waits longer than `backlogAfterMs` (a scheduled draft not sent when due, a send claimed and
 *   never finished);
 * - **healthy** otherwise. A send whose recipients the relay rejects (5xx on RCPT) says nothing
 *   about the relay: it answered.
 *
 * Reasons carry error codes and SMTP reply codes, never the relay's reply text (it can quote
 * recipients' addresses).
 */
import {
  readingOf,
  systemClock,
  type Clock,
  type DriverHealth,
  type HealthFinding,
  type Queryable,
} from '../../kernel/index.ts';

export interface RelayHealthOptions {
  /** Sends in a row that failed or were deferred before the relay reads as not healthy. @default 3 */
  readonly failThreshold?: number;
  /** How long outgoing mail may wait before the outbox reads as backed up. @default 300_000 */
  readonly backlogAfterMs?: number;
  readonly clock?: Clock;
}

/** Outgoing mail of one tenant waiting longer than it should. */
export interface OutboxBacklog {
  readonly count: number;
  /** When the oldest of them was due (scheduled) or claimed (sending). */
  readonly oldest: number | null;
}

type SendError = { code?: unknown; responseCode?: unknown; message?: unknown };

/** Scheduled drafts past due, and drafts claimed for sending, since before `olderThan`. */
export async function outboxBacklog(q: Queryable, tenant: string, olderThan: number): Promise<OutboxBacklog> {
  // Both halves use mail_drafts_due (status, send_at); few drafts are ever in these two statuses.
  const row = await q.get<{ n: number | string; oldest: number | string | null }>(
    `SELECT COUNT(*) AS n, MIN(CASE WHEN status = 'scheduled' THEN send_at ELSE updated_at END) AS oldest
     FROM mail_drafts WHERE tenant = ? AND ((status = 'scheduled' AND send_at <= ?)
       OR (status = 'sending' AND updated_at <= ?))`,
    [tenant, olderThan, olderThan],
  );
  return { count: Number(row?.n ?? 0), oldest: row?.oldest == null ? null : Number(row.oldest) };
}

export class RelayHealth {
  readonly #clock: Clock;
  readonly #failThreshold: number;
  readonly backlogAfterMs: number;
  #streak: { since: number; failed: number; deferred: number; last: string } | null = null;

  /** `host:port` of the relay, as the reading names it. */
  readonly relay: string;

  constructor(relay: string, options: RelayHealthOptions = {}) {
    this.relay = relay;
    this.#clock = options.clock ?? systemClock;
    this.#failThreshold = options.failThreshold ?? 3;
    this.backlogAfterMs = options.backlogAfterMs ?? 300_000;
  }

  succeeded(): void {
    this.#streak = null;
  }

  /** A send the relay did not take; `error` is what nodemailer threw. */
  failed(error: unknown): void {
    const e = (typeof error === 'object' && error !== null ? error : {}) as SendError;
    const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
    if (e.code === 'EENVELOPE' && reply !== undefined && reply >= 500) return; // the recipients', not the relay's
    const deferred = reply !== undefined && reply >= 400 && reply < 500;
    const code = typeof e.code === 'string' ? e.code : 'error';
    const last =
      reply !== undefined
        ? `${code} ${reply}`
        : `${code}: ${String(e.message ?? error).split('\n')[0] ?? ''}`.slice(0, 200);
    const streak = this.#streak ?? { since: this.#clock.now(), failed: 0, deferred: 0, last };
    this.#streak = {
      ...streak,
      failed: streak.failed + (deferred ? 0 : 1),
      deferred: streak.deferred + (deferred ? 1 : 0),
      last,
    };
  }

  reading(backlog?: OutboxBacklog): DriverHealth {
    const findings: HealthFinding[] = [];
    const streak = this.#streak;
    if (streak !== null && streak.failed + streak.deferred >= this.#failThreshold)
      findings.push({
        status: streak.failed > 0 ? 'unhealthy' : 'degraded',
        reason: `the last ${streak.failed + streak.deferred} sends failed (${streak.failed}) or were deferred (${streak.deferred}); last: ${streak.last}`,
        since: streak.since,
      });
    if (backlog !== undefined && backlog.count > 0 && backlog.oldest !== null)
      findings.push({
        status: 'degraded',
        reason: `${backlog.count} outgoing messages waiting over ${Math.round(this.backlogAfterMs / 60_000)} min`,
        since: backlog.oldest,
      });
    return readingOf(
      { id: 'mail.relay', layer: 'identity', name: `SMTP relay ${this.relay}` },
      findings,
      'sends are taken',
    );
  }

  /** The reading for one tenant: the relay's streak and that tenant's outbox. */
  async read(q: Queryable, tenant: string): Promise<DriverHealth> {
    return this.reading(await outboxBacklog(q, tenant, this.#clock.now() - this.backlogAfterMs));
  }
}
