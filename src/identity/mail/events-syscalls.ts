/**
 * Syscalls of mail events and webhooks: `mail.events.list` (a tenant's events after a `seq`, the
 * cursor the SSE stream resumes from), `mail.webhooks.create|list|delete|deliveries`. The secret of
 * a webhook is in the answer of `create` only; a given secret is marked `secret()` so the pipeline
 * redacts it from the audit entry, logs and errors, and the audited result names the webhook only.
 * Resources: `mail/events`, `mail/webhooks[/<id>]`.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/index.ts';
import { MAIL_EVENT_TYPES, type MailEvent } from './events.ts';
import type { MailEventsLayer } from './events-setup.ts';
import type { Delivery, Webhook } from './webhooks.ts';

const text = z.string().min(1).max(320);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  mailboxId: z.string().nullable(),
  events: z.array(z.enum(MAIL_EVENT_TYPES)),
  createdAt: z.string(),
});

const webhookOut = (w: Webhook): z.infer<typeof webhookSchema> => ({
  id: w.id,
  url: w.url,
  mailboxId: w.mailboxId,
  events: [...w.events],
  createdAt: new Date(w.createdAt).toISOString(),
});

const eventSchema = z.object({
  seq: z.number(),
  id: z.string(),
  type: z.enum(MAIL_EVENT_TYPES),
  mailboxId: z.string(),
  messageId: z.string(),
  createdAt: z.string(),
  message: z.record(z.string(), z.unknown()),
});

export const eventOut = (e: MailEvent): z.infer<typeof eventSchema> => ({
  seq: e.seq,
  id: e.id,
  type: e.type,
  mailboxId: e.mailboxId,
  messageId: e.messageId,
  createdAt: new Date(e.createdAt).toISOString(),
  message: { ...e.message },
});

const deliverySchema = z.object({
  id: z.string(),
  eventSeq: z.number(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  nextAt: z.string().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  log: z.array(
    z.object({
      attempt: z.number(),
      at: z.string(),
      statusCode: z.number().nullable(),
      durationMs: z.number(),
      error: z.string().nullable(),
    }),
  ),
});

const deliveryOut = (d: Delivery): z.infer<typeof deliverySchema> => ({
  id: d.id,
  eventSeq: d.eventSeq,
  status: d.status,
  attempts: d.attempts,
  nextAt: d.status === 'pending' ? iso(d.nextAt) : null,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  createdAt: new Date(d.createdAt).toISOString(),
  finishedAt: iso(d.finishedAt),
  log: d.log.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
});

export function mailEventSyscalls(layer: MailEventsLayer): SyscallDefinition<unknown, unknown>[] {
  const { mail, events, webhooks } = layer;
  return [
    erase(
      defineSyscall({
        name: 'mail.events.list',
        description:
          'The tenant’s mail events (message.received, message.sent, message.failed) after a seq, oldest first; optionally of one mailbox.',
        input: z
          .object({
            after: z.number().int().nonnegative().default(0),
            mailbox: text.optional(),
            limit: z.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        output: z.object({
          events: z.array(eventSchema),
          mailboxId: z.string().nullable(),
          next: z.number(),
        }),
        idempotency: 'pure',
        resource: (input) => (input.mailbox ? `mail/mailboxes/${input.mailbox}` : 'mail/events'),
        handler: async (input, ctx) => {
          const mailboxId = input.mailbox ? (await mail.getMailbox(ctx.tenantId, input.mailbox)).id : null;
          const list = await events.list(ctx.tenantId, {
            after: input.after,
            limit: input.limit,
            ...(mailboxId ? { mailboxId } : {}),
          });
          return { events: list.map(eventOut), mailboxId, next: list.at(-1)?.seq ?? input.after };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.webhooks.create',
        description:
          'Registers a webhook for the tenant’s mail events (optionally of one mailbox). The signing secret (whsec_…) is returned once.',
        input: z
          .object({
            url: z.string().min(1).max(2048),
            mailbox: text.optional(),
            events: z
              .array(z.enum(MAIL_EVENT_TYPES))
              .min(1)
              .default([...MAIL_EVENT_TYPES]),
            secret: secret(z.string().min(22).max(200)).optional(),
          })
          .strict(),
        output: webhookSchema.extend({ secret: z.string() }),
        idempotency: 'unsafe',
        resource: () => 'mail/webhooks',
        auditResult: (_input, output) => ({ id: output.id, url: output.url, events: output.events }),
        handler: async (input, ctx) => {
          const mailboxId = input.mailbox
            ? (await mail.getMailbox(ctx.tenantId, input.mailbox)).id
            : undefined;
          const created = await webhooks.create({
            tenant: ctx.tenantId,
            url: input.url,
            events: input.events,
            ...(mailboxId ? { mailboxId } : {}),
            ...(input.secret ? { secret: input.secret } : {}),
          });
          return { ...webhookOut(created.webhook), secret: created.secret };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.webhooks.list',
        description: 'The tenant’s mail webhooks (without their secrets).',
        input: z.object({}).strict(),
        output: z.object({ webhooks: z.array(webhookSchema) }),
        idempotency: 'pure',
        resource: () => 'mail/webhooks',
        handler: async (_input, ctx) => ({ webhooks: (await webhooks.list(ctx.tenantId)).map(webhookOut) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.webhooks.delete',
        description: 'Deletes a webhook and its pending deliveries.',
        input: z.object({ id: text }).strict(),
        output: z.object({ id: z.string(), deleted: z.boolean() }),
        idempotency: 'idempotent',
        resource: (input) => `mail/webhooks/${input.id}`,
        handler: async (input, ctx) => {
          await webhooks.delete(ctx.tenantId, input.id);
          return { id: input.id, deleted: true };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.webhooks.deliveries',
        description:
          'A webhook’s deliveries, newest first, with every attempt (status code, duration, error).',
        input: z
          .object({
            id: text,
            status: z.enum(['pending', 'delivered', 'failed']).optional(),
            limit: z.number().int().min(1).max(200).default(50),
          })
          .strict(),
        output: z.object({ deliveries: z.array(deliverySchema) }),
        idempotency: 'pure',
        resource: (input) => `mail/webhooks/${input.id}`,
        handler: async (input, ctx) => ({
          deliveries: (
            await webhooks.deliveries(ctx.tenantId, input.id, {
              limit: input.limit,
              ...(input.status ? { status: input.status } : {}),
            })
          ).map(deliveryOut),
        }),
      }),
    ),
  ];
}
