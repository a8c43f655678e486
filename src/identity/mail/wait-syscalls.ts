/**
 * Waiting for inbound mail as syscalls. `mail.waits.create` registers a wait and returns at once:
 * called from a durable run it is bound to the run (signal `mail:<id>`), which `waitForMail` then
 * awaits durably. `mail.wait_for` waits inside the call, at most two minutes, for scripts and other
 * callers that are not durable runs. Resource: `mail/mailboxes/<mailbox>`, like reading it.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import type { Mail } from './mail.ts';
import { iso, messageOut, messageSchema } from './message-schema.ts';
import type { MailWait } from './waits.ts';

/** The longest a `mail.wait_for` call waits: longer waits belong in a durable run. */
export const MAX_BLOCKING_WAIT_MS = 120_000;

const text = z.string().min(1).max(320);

const querySchema = {
  mailbox: text,
  from: text.optional(),
  subject: z.string().min(1).max(998).optional(),
  thread: text.optional(),
  /** ISO time or epoch ms: match messages received since then (default: now). */
  since: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).optional(),
};

const waitSchema = z.object({
  id: z.string(),
  mailboxId: z.string(),
  signal: z.string(),
  status: z.enum(['waiting', 'fired', 'cancelled']),
  runId: z.string().nullable(),
  messageId: z.string().nullable(),
  createdAt: z.string(),
  firedAt: z.string().nullable(),
  /** The message that fired it, when it has. */
  message: messageSchema.nullable(),
});

type QueryInput = { from?: string; subject?: string; thread?: string; since?: string | number };

const queryOf = (input: QueryInput) => ({
  ...(input.from ? { from: input.from } : {}),
  ...(input.subject ? { subject: input.subject } : {}),
  ...(input.thread ? { thread: input.thread } : {}),
  ...(input.since === undefined ? {} : { since: new Date(input.since).getTime() }),
});

async function waitOut(mail: Mail, wait: MailWait): Promise<z.infer<typeof waitSchema>> {
  return {
    id: wait.id,
    mailboxId: wait.mailboxId,
    signal: wait.signal,
    status: wait.status,
    runId: wait.runId,
    messageId: wait.messageId,
    createdAt: new Date(wait.createdAt).toISOString(),
    firedAt: iso(wait.firedAt),
    message: wait.messageId ? messageOut(await mail.get(wait.tenant, wait.messageId), false) : null,
  };
}

export function mailWaitSyscalls(mail: Mail): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'mail.waits.create',
        description:
          'Registers a wait for an inbound message (from, subject words, thread, since); from a durable run it signals the run `mail:<id>` when it fires. Fired at once by a stored match.',
        input: z.object(querySchema).strict(),
        output: waitSchema,
        // A run's retry of the same call gets the same wait back (keyed by its idempotency key).
        idempotency: 'idempotent',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) =>
          waitOut(
            mail,
            await mail.waits.register({
              tenant: ctx.tenantId,
              mailbox: input.mailbox,
              query: queryOf(input),
              ...(ctx.runId ? { runId: ctx.runId } : {}),
              ...(ctx.idempotencyKey ? { key: ctx.idempotencyKey } : {}),
            }),
          ),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.waits.get',
        description: 'A wait, with the message that fired it.',
        input: z.object({ id: text }).strict(),
        output: waitSchema,
        idempotency: 'pure',
        resource: (input) => `mail/waits/${input.id}`,
        handler: async (input, ctx) => waitOut(mail, await mail.waits.get(ctx.tenantId, input.id)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.waits.cancel',
        description:
          'Cancels a wait still waiting; one that fired meanwhile is returned fired, with its message.',
        input: z.object({ id: text }).strict(),
        output: waitSchema,
        idempotency: 'idempotent',
        resource: (input) => `mail/waits/${input.id}`,
        handler: async (input, ctx) => waitOut(mail, await mail.waits.cancel(ctx.tenantId, input.id)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.wait_for',
        description: `Waits in the call (at most ${MAX_BLOCKING_WAIT_MS / 1000} s) for a matching inbound message and returns it; E_WAIT_TIMEOUT if none came. Durable runs use waitForMail instead.`,
        input: z
          .object({ ...querySchema, timeoutMs: z.number().int().min(1).max(MAX_BLOCKING_WAIT_MS) })
          .strict(),
        output: messageSchema,
        idempotency: 'pure',
        retry: { attempts: 1 },
        timeoutMs: MAX_BLOCKING_WAIT_MS + 10_000,
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => {
          const wait = await mail.waits.waitHere(
            { tenant: ctx.tenantId, mailbox: input.mailbox, query: queryOf(input) },
            { timeoutMs: input.timeoutMs, signal: ctx.signal },
          );
          return messageOut(await mail.get(ctx.tenantId, wait.messageId ?? ''), false);
        },
      }),
    ),
  ];
}
