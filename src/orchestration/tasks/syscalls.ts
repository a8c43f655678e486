/**
 * @module orchestration/tasks/syscalls
 * The task board as syscalls: `fleet.task.create`, `fleet.task.get`, `fleet.task.list` from
 * anywhere; `fleet.task.claim`, `fleet.task.release` and `fleet.task.complete` from a run
 * (`ctx.syscall`), which is the holder. Tenant-scoped: the tenant comes from the caller's
 * principal. Resources: `tasks/<taskId>` for one task, `tasks` to create or list.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { TaskBoard } from './board.ts';

const taskId = z.string().min(1).max(100);
const taskStatus = z.enum(['open', 'claimed', 'completed']);
const taskSchema = z.object({
  id: z.string(),
  key: z.string(),
  title: z.string(),
  payload: z.unknown(),
  status: taskStatus,
  holder: z.object({ runId: z.string(), incarnation: z.number() }).nullable(),
  claims: z.number(),
  result: z.unknown(),
  createdAt: z.number(),
  claimedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
});
const byId = z.object({ taskId }).strict();

export function taskSyscalls(engine: Engine): SyscallDefinition<unknown, unknown>[] {
  const board = new TaskBoard(engine);
  return [
    erase(
      defineSyscall({
        name: 'fleet.task.create',
        description:
          'Creates an open task on the tenant’s task board; a repeated create with the same key returns the first task.',
        input: z
          .object({
            title: z.string().min(1).max(500),
            payload: z.unknown().optional(),
            key: z.string().min(1).max(200).optional(),
          })
          .strict(),
        output: taskSchema,
        idempotency: 'unsafe',
        resource: () => 'tasks',
        handler: (input, ctx) =>
          board.create(ctx.tenantId, {
            title: input.title,
            payload: input.payload,
            // A run's create is keyed by its journal position, so a replayed create finds its task.
            key: input.key ?? ctx.idempotencyKey,
          }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.task.get',
        description: 'One task: status, holder (run and incarnation), claims, result.',
        input: byId,
        output: taskSchema,
        idempotency: 'pure',
        resource: (input) => `tasks/${input.taskId}`,
        handler: (input, ctx) => board.get(ctx.tenantId, input.taskId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.task.list',
        description: 'The tenant’s tasks, newest first, optionally by status; `after` is the last id seen.',
        input: z
          .object({
            status: taskStatus.optional(),
            limit: z.number().int().min(1).max(1000).optional(),
            after: taskId.optional(),
          })
          .strict(),
        output: z.object({ tasks: z.array(taskSchema) }),
        idempotency: 'pure',
        resource: () => 'tasks',
        handler: async (input, ctx) => ({ tasks: await board.list(ctx.tenantId, input) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.task.claim',
        description:
          'Claims a task for the calling run: exactly one of any number of concurrent claims wins; claimed=false names the holder.',
        input: byId,
        output: z.object({ claimed: z.boolean(), task: taskSchema }),
        idempotency: 'idempotent',
        resource: (input) => `tasks/${input.taskId}`,
        handler: (input, ctx) => board.claim(ctx.tenantId, input.taskId, ctx.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.task.release',
        description:
          'Gives a claimed task back (open); only its live holder may (else E_STALE_INCARNATION or E_CONFLICT).',
        input: byId,
        output: taskSchema,
        idempotency: 'unsafe',
        resource: (input) => `tasks/${input.taskId}`,
        handler: (input, ctx) => board.release(ctx.tenantId, input.taskId, ctx.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.task.complete',
        description:
          'Completes a claimed task with its result; only its live holder may (a taken-over execution gets E_STALE_INCARNATION).',
        input: z.object({ taskId, result: z.unknown().optional() }).strict(),
        output: taskSchema,
        idempotency: 'idempotent',
        resource: (input) => `tasks/${input.taskId}`,
        handler: (input, ctx) => board.complete(ctx.tenantId, input.taskId, ctx.runId, input.result),
      }),
    ),
  ];
}
