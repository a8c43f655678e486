/**
 * @module orchestration/approvals/syscalls
 * `approvals.list|get|decide` for people and agents (HTTP, CLI, MCP), and `approvals.request|timeout`
 * which `ctx.approve` calls from the asking run. Decisions are syscalls, so each lands in the audit
 * log with its principal, input (reason, value) and outcome. Resources: `approvals` for request and
 * list, `approvals/<id>` for one approval.
 */
import { z } from 'zod';
import { defineSyscall, erase, StrataError, type SyscallDefinition } from '../../kernel/index.ts';
import { approvalSchema, APPROVAL_STATUSES, ON_TIMEOUT } from './approval-row.ts';
import type { Approvals } from './approvals.ts';

const id = z.string().min(1).max(100);
const YEAR_MS = 366 * 24 * 3600 * 1000;

export const requestInputSchema = z
  .object({
    question: z.string().min(1).max(4000),
    schema: z.record(z.string(), z.unknown()).optional(),
    approvers: z.array(z.string().min(1).max(320)).max(50).default([]),
    timeoutMs: z.number().int().positive().max(YEAR_MS).optional(),
    onTimeout: z.enum(ON_TIMEOUT).default('reject'),
    mailbox: z.string().min(3).max(320).optional(),
  })
  .strict();

export function approvalSyscalls(approvals: Approvals): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'approvals.request',
        description:
          'Asks for an approval on behalf of the calling run (used by ctx.approve); a repeated request with the same idempotency key returns the first.',
        input: requestInputSchema,
        output: approvalSchema,
        idempotency: 'idempotent',
        resource: () => 'approvals',
        handler: (input, ctx) => {
          if (ctx.runId === undefined)
            throw new StrataError('E_INVALID_INPUT', 'approvals are requested by runs, through ctx.approve');
          const requestKey = ctx.idempotencyKey ?? `${ctx.runId}:${ctx.clock.now()}`;
          return approvals.request(ctx.tenantId, { runId: ctx.runId, requestKey }, input);
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.timeout',
        description:
          'Applies an approval’s onTimeout once its deadline passed; only the asking run may call it (ctx.approve does).',
        input: z.object({ id }).strict(),
        output: approvalSchema,
        idempotency: 'idempotent',
        resource: (input) => `approvals/${input.id}`,
        handler: (input, ctx) => approvals.timeout(ctx.tenantId, input.id, ctx.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.list',
        description: 'Lists the tenant’s approvals, newest first (default: pending ones).',
        input: z
          .object({
            status: z.enum([...APPROVAL_STATUSES, 'all']).default('pending'),
            runId: id.optional(),
            workflow: z.string().min(1).max(200).optional(),
            limit: z.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        output: z.object({ approvals: z.array(approvalSchema) }),
        idempotency: 'pure',
        resource: () => 'approvals',
        handler: async (input, ctx) => ({ approvals: await approvals.list(ctx.tenantId, input) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.get',
        description: 'Returns one approval: question, approvers, status, and the signed decision.',
        input: z.object({ id }).strict(),
        output: approvalSchema,
        idempotency: 'pure',
        resource: (input) => `approvals/${input.id}`,
        handler: (input, ctx) => approvals.get(ctx.tenantId, input.id),
      }),
    ),
    erase(
      defineSyscall({
        name: 'approvals.decide',
        description:
          'Approves or rejects a pending approval as the caller (who must be one of its approvers); the first decision wins, later ones get E_CONFLICT; an approving value must match its schema.',
        input: z
          .object({
            id,
            decision: z.enum(['approve', 'reject']),
            reason: z.string().max(4000).optional(),
            value: z.unknown().optional(),
          })
          .strict(),
        output: approvalSchema,
        idempotency: 'unsafe', // a second decision is refused, not repeated
        resource: (input) => `approvals/${input.id}`,
        // The asking run's audit shows who decided (a refused decision names only the approval).
        auditRun: (_input, approval) => approval && { runId: approval.runId },
        auditResult: (_input, output) => ({
          status: output.status,
          signedWith: output.signedWith,
          signature: output.signature,
        }),
        handler: (input, ctx) =>
          approvals.decide(ctx.tenantId, input.id, {
            decision: input.decision,
            reason: input.reason,
            value: input.value,
            principal: ctx.principal,
            via: ctx.principal.id.startsWith('mail:') ? 'mail' : 'api',
          }),
      }),
    ),
  ];
}
