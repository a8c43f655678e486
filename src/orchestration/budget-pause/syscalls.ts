/**
 * @module orchestration/budget-pause/syscalls
 * `runs.budget_pauses.list|get` for operators (what is paused on which budget, how many runs) and
 * `runs.budget_pauses.resolve`, which a pause's leader run calls once its approval is decided.
 * Resources: `runs/budget_pauses` and `runs/budget_pauses/<id>`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import type { BudgetPauses } from './budget-pauses.ts';

const id = z.string().min(1).max(100);

export const budgetPauseSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  budgetId: z.string(),
  budget: z.object({
    budgetId: z.string(),
    scope: z.string(),
    subject: z.string(),
    period: z.string(),
    currency: z.string(),
    limit: z.string(),
    available: z.string(),
    requested: z.string(),
  }),
  leaderRunId: z.string(),
  rootId: z.string(),
  syscall: z.string(),
  proposedLimit: z.string(),
  approvalId: z.string().nullable(),
  status: z.enum(['paused', 'resumed', 'rejected']),
  runs: z.number().int(),
  newLimit: z.string().nullable(),
  createdAt: z.number(),
  resolvedAt: z.number().nullable(),
});

export function budgetPauseSyscalls(pauses: BudgetPauses): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'runs.budget_pauses.list',
        description:
          'Lists budget pauses (default: open ones): the exhausted budget, the runs waiting on it, the approval that decides it.',
        input: z
          .object({
            status: z.enum(['paused', 'resumed', 'rejected', 'all']).default('paused'),
            limit: z.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        output: z.object({ pauses: z.array(budgetPauseSchema) }),
        idempotency: 'pure',
        resource: () => 'runs/budget_pauses',
        handler: async (input, ctx) => ({ pauses: await pauses.list(ctx.tenantId, input) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.budget_pauses.get',
        description: 'Returns one budget pause.',
        input: z.object({ id }).strict(),
        output: budgetPauseSchema,
        idempotency: 'pure',
        resource: (input) => `runs/budget_pauses/${input.id}`,
        handler: (input, ctx) => pauses.get(ctx.tenantId, input.id),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.budget_pauses.resolve',
        description:
          'Applies the decided approval of a budget pause (raise and resume, or reject); only the pause’s leader run calls it.',
        input: z.object({ id }).strict(),
        output: budgetPauseSchema,
        idempotency: 'idempotent',
        resource: (input) => `runs/budget_pauses/${input.id}`,
        handler: (input, ctx) => pauses.resolve(ctx.tenantId, input.id, ctx.runId),
      }),
    ),
  ];
}
