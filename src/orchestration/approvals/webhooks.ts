/**
 * @module orchestration/approvals/webhooks
 * Webhook endpoints a tenant registers for approval events, and the outbox they are fed from.
 *
 * - `approval.requested`: a run asked (`ctx.approve`); `approval.decided`: a person or agent
 *   decided (API, CLI, email); `approval.expired`: its timeout applied `onTimeout` (decided, or
 *   escalated and still pending).
 * - {@link enqueueApprovalEvent} runs inside the transaction that changes the approval, so an
 *   event exists exactly when its change committed, and a restart loses none.
 * - Deliveries are signed in the Standard Webhooks scheme with the mail layer's code
 *   (`signWebhook`), so receivers verify both kinds alike. The secret is sealed with the master
 *   key (bound to the webhook's id), returned once by `create`, never listed or logged.
 * - URLs go through the SSRF guard at registration and again at connect time (`postWebhook`).
 */
import { z } from 'zod';
import { assertOutboundUrl, newWebhookSecret, signWebhook } from '../../identity/index.ts';
import {
  isStrataError,
  newId,
  openSealed,
  seal,
  StrataError,
  type Clock,
  type Queryable,
  type Store,
} from '../../kernel/index.ts';
import type { Approval } from './approval-row.ts';

export const APPROVAL_EVENT_TYPES = ['approval.requested', 'approval.decided', 'approval.expired'] as const;
export type ApprovalEventType = (typeof APPROVAL_EVENT_TYPES)[number];

export const approvalWebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(APPROVAL_EVENT_TYPES)),
  createdAt: z.number(),
});
export type ApprovalWebhook = z.infer<typeof approvalWebhookSchema>;

export const deliverySchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  nextAt: z.number(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  finishedAt: z.number().nullable(),
});
export type ApprovalDelivery = z.infer<typeof deliverySchema>;

type WebhookRow = {
  id: string;
  tenant_id: string;
  url: string;
  secret_sealed: string;
  events: string;
  created_at: number | string;
};

const webhookOf = (r: WebhookRow): ApprovalWebhook => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as ApprovalEventType[],
  createdAt: Number(r.created_at),
});

const aad = (id: string): string => `approval-webhook:${id}`;

/**
 * Writes an approval event and one pending delivery per webhook of the tenant that wants it. The
 * body is fixed here, so every attempt (and every endpoint) gets the same bytes under one
 * `webhook-id`. Decisions themselves go through `approvals.decide` (HTTP `POST
 * /v1/syscalls/approvals.decide`), which the body names.
 */
export async function enqueueApprovalEvent(
  q: Queryable,
  type: ApprovalEventType,
  approval: Approval,
  args: { tenant: string; now: number },
): Promise<void> {
  const hooks = await q.all<Pick<WebhookRow, 'id' | 'events'>>(
    'SELECT id, events FROM orch_approval_webhooks WHERE tenant_id = ?',
    [args.tenant],
  );
  const wanted = hooks.filter((h) => (JSON.parse(h.events) as string[]).includes(type));
  if (wanted.length === 0) return; // no endpoint: nothing to keep
  const id = newId('evt', args.now);
  const body = JSON.stringify({
    id,
    type,
    createdAt: new Date(args.now).toISOString(),
    data: {
      approval,
      decide: {
        syscall: 'approvals.decide',
        path: '/v1/syscalls/approvals.decide',
        input: { id: approval.id },
      },
    },
  });
  await q.run(
    'INSERT INTO orch_approval_events (id, tenant_id, type, approval_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [id, args.tenant, type, approval.id, body, args.now],
  );
  for (const hook of wanted)
    await q.run(
      `INSERT INTO orch_approval_deliveries (id, tenant_id, webhook_id, event_id, status, attempts, next_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
      [newId('dlv', args.now), args.tenant, hook.id, id, args.now, args.now],
    );
}

export class ApprovalWebhooks {
  readonly #o: { store: Store; masterKey: Buffer; clock: Clock; allowPrivate: boolean };

  constructor(options: { store: Store; masterKey: Buffer; clock: Clock; allowPrivate?: boolean }) {
    this.#o = { ...options, allowPrivate: options.allowPrivate ?? false };
  }

  get allowPrivate(): boolean {
    return this.#o.allowPrivate;
  }

  /**
   * Registers an endpoint; the secret (given, `whsec_<base64 of ≥ 16 bytes>`, or generated) is in
   * the answer and nowhere else. A refused URL is `E_INVALID_INPUT` with `data.reason` from the
   * SSRF guard; a short or malformed secret `E_INVALID_INPUT` too. Nothing is stored then.
   */
  async create(
    tenant: string,
    input: { url: string; events: readonly ApprovalEventType[]; secret?: string },
  ): Promise<{ webhook: ApprovalWebhook; secret: string }> {
    try {
      assertOutboundUrl(input.url, { allowPrivate: this.#o.allowPrivate });
    } catch (error) {
      const reason = isStrataError(error)
        ? (error.data as { reason?: string } | undefined)?.reason
        : undefined;
      throw new StrataError('E_INVALID_INPUT', `webhook url refused: ${reason ?? 'invalid'}`, {
        issues: [{ path: ['url'], message: reason ?? 'invalid' }],
        reason: reason ?? 'invalid',
      });
    }
    const secret = input.secret ?? newWebhookSecret();
    if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret))
      throw new StrataError('E_INVALID_INPUT', 'a webhook secret is whsec_ followed by base64', {
        issues: [{ path: ['secret'], message: 'not whsec_<base64>' }],
      });
    signWebhook(secret, { id: 'probe', timestamp: 0, body: '' }); // throws E_INVALID_INPUT when too short
    const now = this.#o.clock.now();
    const id = newId('whk', now);
    const events = JSON.stringify([...new Set(input.events)]);
    await this.#o.store.run(
      `INSERT INTO orch_approval_webhooks (id, tenant_id, url, secret_sealed, events, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [id, tenant, input.url, seal(this.#o.masterKey, Buffer.from(secret, 'utf8'), aad(id)), events, now],
    );
    return { webhook: { id, url: input.url, events: [...new Set(input.events)], createdAt: now }, secret };
  }

  async list(tenant: string): Promise<ApprovalWebhook[]> {
    const rows = await this.#o.store.all<WebhookRow>(
      'SELECT * FROM orch_approval_webhooks WHERE tenant_id = ? ORDER BY id',
      [tenant],
    );
    return rows.map(webhookOf);
  }

  /** Deletes an endpoint and its pending deliveries. */
  async delete(tenant: string, id: string): Promise<void> {
    await this.#row(tenant, id);
    await this.#o.store.transaction(async (tx) => {
      await tx.run('DELETE FROM orch_approval_deliveries WHERE webhook_id = ?', [id]);
      await tx.run('DELETE FROM orch_approval_webhooks WHERE id = ?', [id]);
    });
  }

  /** An endpoint's deliveries, newest first. */
  async deliveries(tenant: string, id: string, limit = 50): Promise<ApprovalDelivery[]> {
    await this.#row(tenant, id);
    const rows = await this.#o.store.all<Record<string, string | number | null>>(
      'SELECT * FROM orch_approval_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?',
      [id, limit],
    );
    const num = (v: string | number | null | undefined): number | null => (v == null ? null : Number(v));
    return rows.map((r) => ({
      id: String(r['id']),
      webhookId: String(r['webhook_id']),
      eventId: String(r['event_id']),
      status: r['status'] as ApprovalDelivery['status'],
      attempts: Number(r['attempts']),
      nextAt: Number(r['next_at']),
      lastStatus: num(r['last_status']),
      lastError: r['last_error'] == null ? null : String(r['last_error']),
      finishedAt: num(r['finished_at']),
    }));
  }

  /** The endpoint's URL and opened secret, for the dispatcher only. */
  async target(id: string): Promise<{ url: string; secret: string } | undefined> {
    const row = await this.#o.store.get<WebhookRow>('SELECT * FROM orch_approval_webhooks WHERE id = ?', [
      id,
    ]);
    if (!row) return undefined;
    return {
      url: row.url,
      secret: openSealed(this.#o.masterKey, row.secret_sealed, aad(row.id)).toString('utf8'),
    };
  }

  async #row(tenant: string, id: string): Promise<WebhookRow> {
    const row = await this.#o.store.get<WebhookRow>(
      'SELECT * FROM orch_approval_webhooks WHERE tenant_id = ? AND id = ?',
      [tenant, id],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no approval webhook ${id.slice(0, 60)}`, { id });
    return row;
  }
}
