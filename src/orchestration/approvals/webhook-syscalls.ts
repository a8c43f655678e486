/**
 * @module orchestration/approvals/webhook-syscalls
 * `approvals.webhooks.create|list|delete|deliveries`. The secret is in the answer of `create` only;
 * a given secret is marked `secret()` so the pipeline redacts it from the audit entry, logs and
 * errors, and the audited result names the webhook only. Resources: `approvals/webhooks[/<id>]`.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/index.ts';
import {
  APPROVAL_EVENT_TYPES,
  approvalWebhookSchema,
  deliverySchema,
  type ApprovalWebhooks,
} from './webhooks.ts';

const id = z.string().min(1).max(100);

export function approvalWebhookSyscalls(webhooks: ApprovalWebhooks): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'approvals.webhooks.create',
        description:
          'Registers a webhook for the tenant’s approval events (approval.requested, approval.decided, approval.expired), signed in the Standard Webhooks scheme. The secret (whsec_…) is returned once.',
        input: z
          .object({
            url: z.string().min(1).max(2048),
            events: z
              .array(z.enum(APPROVAL_EVENT_TYPES))
              .min(1)
              .default([...APPROVAL_EVENT_TYPES]),
            secret: secret(z.string().min(1).max(200)).optional(),
          })
          .strict(),
        output: approvalWebhookSchema.extend({ secret: z.string() }),
        idempotency: 'unsafe',
        resource: () => 'approvals/webhooks',
        auditResult: (_input, output) => ({ id: output.id, url: output.url, events: output.events }),
        handler: async (input, ctx) => {
          const { webhook, secret: key } = await webhooks.create(ctx.tenantId, input);
          return { ...webhook, secret: key };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.webhooks.list',
        description: 'Lists the tenant’s approval webhooks (never their secrets).',
        input: z.object({}).strict(),
        output: z.object({ webhooks: z.array(approvalWebhookSchema) }),
        idempotency: 'pure',
        resource: () => 'approvals/webhooks',
        handler: async (_input, ctx) => ({ webhooks: await webhooks.list(ctx.tenantId) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.webhooks.delete',
        description: 'Deletes an approval webhook and its pending deliveries.',
        input: z.object({ id }).strict(),
        output: z.object({ deleted: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `approvals/webhooks/${input.id}`,
        handler: async (input, ctx) => {
          await webhooks.delete(ctx.tenantId, input.id);
          return { deleted: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.webhooks.deliveries',
        description:
          'An approval webhook’s deliveries, newest first: status, attempts, last HTTP status or error.',
        input: z.object({ id, limit: z.number().int().min(1).max(500).default(50) }).strict(),
        output: z.object({ deliveries: z.array(deliverySchema) }),
        idempotency: 'pure',
        resource: (input) => `approvals/webhooks/${input.id}`,
        handler: async (input, ctx) => ({
          deliveries: await webhooks.deliveries(ctx.tenantId, input.id, input.limit),
        }),
      }),
    ),
  ];
}
