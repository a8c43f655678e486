/**
 * @module orchestration/escalations/syscalls
 * `escalations.raise|list|get|ack|resolve` and `escalations.route.set|get`. The tenant is the
 * caller's; an item of another tenant is E_NOT_FOUND. Resources: `escalations` for raise, list and
 * routes, `escalations/<id>` for one item, so a grant can let an on-call key ack without raising.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import { escalationSchema, routeSchema, severitySchema } from './escalation-row.ts';
import type { Escalations } from './escalations.ts';

const byId = z.object({ id: z.string().min(1).max(100) }).strict();

export function escalationSyscalls(escalations: Escalations): SyscallDefinition<unknown, unknown>[] {
  const byIdCall = (name: string, description: string, act: 'ack' | 'resolve') =>
    erase(
      defineSyscall({
        name,
        description,
        input: byId,
        output: escalationSchema,
        idempotency: 'unsafe',
        resource: (input) => `escalations/${input.id}`,
        handler: (input, ctx) => escalations[act](ctx.tenantId, input.id, ctx.principal.id),
      }),
    );
  return [
    erase(
      defineSyscall({
        name: 'escalations.raise',
        description:
          'Raises an escalation (P0–P2); the same key while unresolved adds to its count instead of opening another.',
        input: z
          .object({
            key: z.string().min(1).max(300),
            severity: severitySchema,
            title: z.string().min(1).max(500),
            detail: z.string().max(10_000).optional(),
            source: z.string().min(1).max(100).default('api'),
          })
          .strict(),
        output: escalationSchema,
        idempotency: 'unsafe', // a repeat is one more occurrence (count + 1)
        resource: () => 'escalations',
        handler: (input, ctx) => escalations.raise(ctx.tenantId, input),
      }),
    ),
    erase(
      defineSyscall({
        name: 'escalations.list',
        description: 'Lists the tenant’s escalations, most severe first (default: open and acked).',
        input: z
          .object({
            status: z.enum(['open', 'acked', 'resolved', 'unresolved', 'all']).default('unresolved'),
            severity: severitySchema.optional(),
            limit: z.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        output: z.object({ escalations: z.array(escalationSchema) }),
        idempotency: 'pure',
        resource: () => 'escalations',
        handler: async (input, ctx) => ({ escalations: await escalations.list(ctx.tenantId, input) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'escalations.get',
        description: 'Returns one escalation: severity, count, bumps, who acked or resolved it.',
        input: byId,
        output: escalationSchema,
        idempotency: 'pure',
        resource: (input) => `escalations/${input.id}`,
        handler: (input, ctx) => escalations.get(ctx.tenantId, input.id),
      }),
    ),
    byIdCall('escalations.ack', 'Acknowledges an open escalation: it is no longer re-escalated.', 'ack'),
    byIdCall(
      'escalations.resolve',
      'Resolves an open or acked escalation; its key may open a new one.',
      'resolve',
    ),
    erase(
      defineSyscall({
        name: 'escalations.route.set',
        description:
          'Sets the tenant’s escalation route: who is on call, the channel (mail, webhook, none), the stale threshold.',
        input: routeSchema,
        output: routeSchema,
        idempotency: 'idempotent',
        resource: () => 'escalations',
        handler: (input, ctx) => escalations.setRoute(ctx.tenantId, input),
      }),
    ),
    erase(
      defineSyscall({
        name: 'escalations.route.get',
        description: 'Returns the tenant’s escalation route (channel none when unset).',
        input: z.object({}).strict(),
        output: routeSchema,
        idempotency: 'pure',
        resource: () => 'escalations',
        handler: (_input, ctx) => escalations.route(ctx.tenantId),
      }),
    ),
  ];
}
