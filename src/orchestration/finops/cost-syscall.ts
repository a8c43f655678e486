/**
 * @module orchestration/finops/cost-syscall
 * `billing.cost`: cost per task of the caller's tenant (see `cost-report.ts`), grouped by run tree,
 * run, agent, model, tool, tenant or project, with committed spend and waste apart. Read-only and
 * tenant-scoped: `tenant` may only name the caller's own tenant (another one is `E_NOT_FOUND`, as
 * a run of another tenant is). Resource `billing/cost`. Defined here, not in billing, because waste
 * is read from the runs and their journals (orchestration may depend on billing, not the reverse).
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/errors.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { COST_GROUPS, costReport, WASTE_REASONS } from './cost-report.ts';

const epochMs = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const figures = {
  total: z.string(),
  committed: z.string(),
  waste: z.string(),
  totalMicros: z.number(),
  committedMicros: z.number(),
  wasteMicros: z.number(),
  calls: count,
  wasteCalls: count,
};

export const costInputSchema = z
  .object({
    groupBy: z.enum(COST_GROUPS).default('tree'),
    since: epochMs.optional().describe('epoch ms, inclusive'),
    until: epochMs.optional().describe('epoch ms, exclusive'),
    tenant: z.string().min(1).max(100).optional(),
    root: z.string().min(1).max(100).optional().describe('one run tree, by its root run id'),
    project: z.string().min(1).max(100).optional(),
    limit: z.number().int().positive().max(10_000).optional(),
  })
  .strict();

export const costReportSchema = z.object({
  groupBy: z.enum(COST_GROUPS),
  currency: z.string(),
  since: z.number().nullable(),
  until: z.number().nullable(),
  groups: z.array(
    z.object({ key: z.string(), workflow: z.string().optional(), status: z.string().optional(), ...figures }),
  ),
  omitted: count,
  totals: z.object(figures),
  waste: z.array(z.object({ reason: z.enum(WASTE_REASONS), amount: z.string(), calls: count })),
  tasks: z.object({ completed: count, cost: z.string(), costPerCompletedTask: z.string().nullable() }),
});

export function costSyscall(
  engine: Engine,
  options: { currency: string },
): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'billing.cost',
      description:
        'Cost per task: spend by run tree, run, agent, model, tool, tenant or project, committed and waste (failed or discarded work) apart, and cost per completed task.',
      input: costInputSchema,
      output: costReportSchema,
      idempotency: 'pure',
      resource: () => 'billing/cost',
      handler: (input, ctx) => {
        if (input.tenant !== undefined && input.tenant !== ctx.tenantId)
          throw new StrataError(
            'E_NOT_FOUND',
            'no such tenant visible to the caller: cost reports are per tenant',
            {
              tenant: input.tenant.slice(0, 100),
            },
          );
        if (input.since !== undefined && input.until !== undefined && input.since >= input.until)
          throw new StrataError('E_INVALID_INPUT', 'since must be before until', {
            issues: [{ path: 'since', message: 'since < until' }],
          });
        return costReport(engine.store, {
          groupBy: input.groupBy,
          tenantIds: [ctx.tenantId],
          currency: options.currency,
          since: input.since,
          until: input.until,
          rootId: input.root,
          project: input.project,
          limit: input.limit,
        });
      },
    }),
  );
}
