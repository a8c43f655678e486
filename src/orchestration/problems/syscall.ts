/**
 * @module orchestration/problems/syscall
 * `fleet.problems`: the caller's tenant's "needs you" list (see problems.ts), optionally only some
 * kinds, with the drivers of this server that are not healthy (drivers.ts). Read-only and tenant-scoped like `fleet.report`; resource `problems`, so a grant can show
 * an operator the list without the runs themselves. Each item's action is another syscall, checked
 * against the caller's own grants when it is called.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { listProblems } from './problems.ts';
import { PROBLEM_KINDS, problemsSchema } from './types.ts';

export function problemsSyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.problems',
      description:
        'What waits on a person in this tenant: pending approvals (time left before escalation), budget pauses, stalled runs, supervisors that gave up or tripped their breaker, open escalations, rejected merge-queue changes, stopped queues, runs parked version_unavailable, drivers of this server that are degraded or unhealthy; each with its reason, age and the syscall that acts on it.',
      input: z
        .object({
          kinds: z.array(z.enum(PROBLEM_KINDS)).max(PROBLEM_KINDS.length).optional(),
          limit: z.number().int().min(1).max(1000).default(100),
        })
        .strict(),
      output: problemsSchema,
      idempotency: 'pure',
      resource: () => 'problems',
      handler: (input, ctx) =>
        listProblems(engine.store, ctx.tenantId, {
          now: ctx.clock.now(),
          limit: input.limit,
          drivers: () => engine.kernel.health.read(ctx.tenantId, ctx.clock.now()),
          ...(input.kinds === undefined ? {} : { kinds: input.kinds }),
        }),
    }),
  );
}
