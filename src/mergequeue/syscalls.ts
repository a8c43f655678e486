/**
 * @module mergequeue/syscalls
 * `mq.configure|submit|queues|list|show|cancel|pause|resume|stats`: the merge queue through the
 * kernel pipeline (capability-checked, audited, metered), so agents reach it from the SDK, HTTP, MCP
 * and the CLI alike. The tenant is the caller's. Every call names its queue and the resource is
 * `mq/<queue>`, so a grant can confine an agent to submitting to one queue; an entry of another
 * queue (or tenant) is E_NOT_FOUND.
 */
import { z } from 'zod';
import { defineSyscall, erase, StrataError, type SyscallDefinition } from '../kernel/index.ts';
import { checkNetworkSchema } from './configure.ts';
import { MAX_PATCH_BYTES } from './patch.ts';
import type { MergeQueues } from './service.ts';

const QUEUE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const queueName = z.string().regex(QUEUE, 'lower-case letters, digits, . _ - (max 63)');
const entryId = z.string().min(1).max(100);
const states = z.enum(['queued', 'testing', 'merged', 'rejected', 'needs_rework', 'cancelled']);

const entrySchema = z.object({
  id: z.string(),
  queue: z.string(),
  seq: z.number(),
  author: z.string(),
  branch: z.string(),
  headCommit: z.string(),
  priority: z.number(),
  dependsOn: z.array(z.string()),
  state: states,
  reason: z.string(),
  files: z.array(z.string()),
  overlaps: z.array(z.object({ entry: z.string(), files: z.array(z.string()) })),
  conflictFiles: z.array(z.string()).nullable(),
  failedCheck: z.string().nullable(),
  mergedCommit: z.string().nullable(),
  checks: z.number(),
  checkMs: z.number(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
});

const stopSchema = z.object({ code: z.string(), reason: z.string(), at: z.number() });

const queueSchema = z.object({
  id: z.string(),
  repository: z.string(),
  target: z.string(),
  checkCommand: z.string(),
  checkTimeoutMs: z.number(),
  runtimes: z.array(z.string()),
  batch: z.object({ min: z.number(), max: z.number() }),
  paused: z.boolean(),
  mainVersion: z.number(),
  mainCommit: z.string(),
  fence: z.number(),
  network: checkNetworkSchema,
  stopped: stopSchema.nullable(),
  auth: z.object({ credential: z.string(), username: z.string().optional() }).nullable(),
  createdAt: z.number(),
});

const checkSchema = z.object({
  id: z.string(),
  purpose: z.string(),
  tree: z.array(z.string()),
  version: z.number(),
  commit: z.string().nullable(),
  outcome: z.enum(['pass', 'fail']).nullable(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  log: z.string().nullable(),
  startedAt: z.number(),
  durationMs: z.number().nullable(),
});

const byQueue = z.object({ queue: queueName }).strict();
const byEntry = z.object({ queue: queueName, id: entryId }).strict();
const resource = (input: { queue: string }): string => `mq/${input.queue}`;

export function mergeQueueSyscalls(queues: MergeQueues): SyscallDefinition<unknown, unknown>[] {
  const entryOf = async (tenantId: string, input: { queue: string; id: string }) => {
    const entry = await queues.rows.entry(tenantId, input.id);
    if (entry.queue !== input.queue)
      throw new StrataError('E_NOT_FOUND', `no entry ${input.id} in queue ${input.queue}`);
    return entry;
  };
  const pause = (name: 'mq.pause' | 'mq.resume', paused: boolean) =>
    erase(
      defineSyscall({
        name,
        description: paused
          ? 'Pauses a queue: no new batches start; checks already running finish and may still merge.'
          : 'Resumes a paused queue, or a stopped one: a new worker takes the queue (the only way a stopped queue runs again).',
        input: byQueue,
        output: queueSchema,
        idempotency: 'idempotent',
        resource,
        handler: (input, ctx) => queues.setPaused(ctx.tenantId, input.queue, paused),
      }),
    );
  return [
    erase(
      defineSyscall({
        name: 'mq.configure',
        description:
          'Creates or updates the merge queue of a (repository, target branch): the check command run in a sandbox, its timeout, runtimes and network ("none", the default, or { allow: ["host:port", …] } reached through the sandbox egress proxy), and {min,max} batch sizes. The repository is a bare repository under the allowed roots, or an https URL (mirrored locally, fetched before checks, main pushed with a compare-and-swap) whose credentials come from the vault connection named by auth.credential (sent as Basic auth with auth.username, default x-access-token; E_REMOTE_AUTH when refused).',
        input: z
          .object({
            queue: queueName,
            repository: z.string().min(1).max(4096),
            target: z.string().min(1).max(200),
            check: z
              .object({
                command: z.string().min(1).max(10_000),
                timeoutMs: z
                  .number()
                  .int()
                  .positive()
                  .max(24 * 3600 * 1000)
                  .optional(),
                runtimes: z.array(z.string().min(1).max(50)).max(10).optional(),
                network: checkNetworkSchema.optional(),
              })
              .strict(),
            batch: z
              .object({
                min: z.number().int().min(1).max(100).optional(),
                max: z.number().int().min(1).max(100).optional(),
              })
              .strict()
              .optional(),
            auth: z
              .object({
                credential: z.string().min(1).max(200),
                username: z.string().min(1).max(200).optional(),
              })
              .strict()
              .optional(),
          })
          .strict(),
        output: queueSchema,
        idempotency: 'idempotent',
        resource,
        handler: (input, ctx) => queues.configure(ctx.tenantId, input),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mq.submit',
        description:
          'Submits a change: exactly one of branch (of the queue’s repository) or patch (a unified diff or `git format-patch` text, at most 1 MiB), which the queue commits on the target’s current main (E_PATCH_REJECTED, naming the files, when it does not apply). The same branch at the same commit, or the same patch while its entry is open or merged, returns the existing entry (duplicate: true). Warns (overlaps) when queued changes touch the same files.',
        input: z
          .object({
            queue: queueName,
            branch: z.string().min(1).max(200).optional(),
            patch: z.string().min(1).max(MAX_PATCH_BYTES).optional(),
            author: z.string().min(1).max(200).optional(),
            priority: z.number().int().min(-1000).max(1000).optional(),
            dependsOn: z.array(entryId).max(50).optional(),
          })
          .strict(),
        output: entrySchema.extend({ duplicate: z.boolean() }),
        idempotency: 'idempotent', // keyed by (branch, head commit) or the patch text
        resource,
        handler: (input, ctx) =>
          queues.submit(ctx.tenantId, { ...input, author: input.author ?? ctx.principal.id }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mq.queues',
        description:
          'Lists the caller’s tenant’s merge queues by name: repository, target, main’s commit, paused, and why each stopped (null while it runs).',
        input: z.object({}).strict(),
        output: z.object({ queues: z.array(queueSchema) }),
        idempotency: 'pure',
        resource: () => 'mq',
        handler: async (_input, ctx) => ({ queues: await queues.rows.queues(ctx.tenantId) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mq.list',
        description:
          'Lists a queue’s entries in submission order, optionally only some states, and why the queue stopped (null while it runs).',
        input: z.object({ queue: queueName, states: z.array(states).max(6).optional() }).strict(),
        output: z.object({ entries: z.array(entrySchema), stopped: stopSchema.nullable() }),
        idempotency: 'pure',
        resource,
        handler: async (input, ctx) => ({
          entries: await queues.list(ctx.tenantId, input.queue, input.states),
          stopped: await queues.halted(ctx.tenantId, input.queue),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mq.show',
        description:
          'One entry: its state and reason, every transition with its reason, the checks that included it (with logs), and the failing log when it was rejected.',
        input: byEntry,
        output: z.object({
          entry: entrySchema,
          history: z.array(
            z.object({ from: z.string(), to: z.string(), reason: z.string(), at: z.number() }),
          ),
          checks: z.array(checkSchema),
          failingLog: z.string().nullable(),
        }),
        idempotency: 'pure',
        resource,
        handler: async (input, ctx) => {
          await entryOf(ctx.tenantId, input);
          return queues.show(ctx.tenantId, input.id);
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mq.cancel',
        description: 'Takes an entry out of the queue; the changes tested with it are re-queued.',
        input: byEntry.extend({ reason: z.string().min(1).max(500).optional() }),
        output: entrySchema,
        idempotency: 'unsafe',
        resource,
        handler: async (input, ctx) => {
          await entryOf(ctx.tenantId, input);
          return queues.cancel(ctx.tenantId, input.id, input.reason ?? `cancelled by ${ctx.principal.id}`);
        },
      }),
    ),
    pause('mq.pause', true),
    pause('mq.resume', false),
    erase(
      defineSyscall({
        name: 'mq.stats',
        description:
          'Queue figures: entries per state, head-of-line blocker and why, checks per merged change, flake retries, bisections and depth, culprits, queue time p50/p95, check time per author.',
        input: byQueue,
        output: z.record(z.string(), z.unknown()),
        idempotency: 'pure',
        resource,
        handler: async (input, ctx) => ({ ...(await queues.stats(ctx.tenantId, input.queue)) }),
      }),
    ),
  ];
}
