/**
 * `mail.drafts.*` and `mail.settings.*` syscalls. Drafts are read and changed by id (resource
 * `mail/drafts/<id>`), created and listed per mailbox (`mail/mailboxes/<mailbox>`). A mailbox's
 * settings have their own resource, `mail/settings/<mailbox>`, so an agent granted its mailbox is
 * not thereby able to switch its own approval off. `approvalHold` is what `mail.send` consults:
 * for an agent on a mailbox requiring approval, the send becomes a `pending_approval` draft that
 * someone else granted `mail.drafts.approve` approves (it is sent) or rejects (with a reason).
 */
import { z } from 'zod';
import {
  defineSyscall,
  erase,
  type IdempotencyClass,
  type SyscallContext,
  type SyscallDefinition,
} from '../../kernel/index.ts';
import { DRAFT_STATUSES, draftOut, draftSchema, type DraftOut } from './draft-schema.ts';
import type { Drafts } from './drafts.ts';
import type { Draft } from './drafts-repo.ts';
import { MAX_BLOCKING_WAIT_MS } from './wait-syscalls.ts';

const text = z.string().min(1).max(320);
const content = {
  to: z.array(z.string().max(400)).max(50).optional(),
  subject: z.string().max(998).optional(),
  text: z.string().max(1_000_000).optional(),
};
const when = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]);
const settingsSchema = z.object({ mailboxId: z.string(), approvalRequired: z.boolean() });

/** What `mail.send` was asked to send, as `approvalHold` sees it. */
export interface SendRequest {
  readonly mailbox: string;
  readonly to: string | readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly inReplyTo?: string | undefined;
}

/**
 * For `mailSyscalls(mail, { holdSend })`: an agent's send from a mailbox requiring approval is
 * stored as a `pending_approval` draft and answered with it; anything else is sent as usual.
 */
export function approvalHold(
  drafts: Drafts,
): (request: SendRequest, ctx: SyscallContext) => Promise<DraftOut | undefined> {
  return async (request, ctx) => {
    if (ctx.principal.kind !== 'agent') return undefined;
    if (!(await drafts.settings(ctx.tenantId, request.mailbox)).approvalRequired) return undefined;
    const draft = await drafts.create(
      ctx.tenantId,
      {
        mailbox: request.mailbox,
        status: 'pending_approval',
        to: typeof request.to === 'string' ? [request.to] : request.to,
        subject: request.subject,
        text: request.text,
        ...(request.inReplyTo ? { inReplyTo: request.inReplyTo } : {}),
      },
      { requestedBy: ctx.principal.id, ...(ctx.runId ? { runId: ctx.runId } : {}) },
    );
    return draftOut(draft);
  };
}

/** A syscall on one draft by id (`mail/drafts/<id>`) answering the draft. */
function onDraft<TInput extends { id: string }>(spec: {
  name: string;
  description: string;
  input: z.ZodType<TInput>;
  idempotency: IdempotencyClass;
  slow?: boolean;
  run: (input: TInput, ctx: SyscallContext) => Promise<Draft>;
}): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: spec.name,
      description: spec.description,
      input: spec.input,
      output: draftSchema,
      idempotency: spec.idempotency,
      resource: (input) => `mail/drafts/${input.id}`,
      auditResult: (_input, output) => ({ status: output.status, messageId: output.messageId }),
      // Sending talks to the relay: one attempt (the draft's status makes a second one safe anyway).
      ...(spec.slow ? { retry: { attempts: 1 }, timeoutMs: 60_000 } : {}),
      handler: async (input, ctx) => draftOut(await spec.run(input, ctx)),
    }),
  );
}

const byId = z.object({ id: text }).strict();

export function draftSyscalls(drafts: Drafts): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'mail.drafts.create',
        description:
          'Writes a draft in a mailbox; addresses and subject are validated now. inReplyTo (a message id) makes it a reply.',
        input: z.object({ mailbox: text, ...content, inReplyTo: text.optional() }).strict(),
        output: draftSchema,
        idempotency: 'unsafe',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => draftOut(await drafts.create(ctx.tenantId, input)),
      }),
    ),
    onDraft({
      name: 'mail.drafts.update',
      description: 'Changes a draft not yet sent, held or being sent (inReplyTo: null removes it).',
      input: z.object({ id: text, ...content, inReplyTo: text.nullable().optional() }).strict(),
      idempotency: 'idempotent',
      run: ({ id, ...patch }, ctx) => drafts.update(ctx.tenantId, id, patch),
    }),
    onDraft({
      name: 'mail.drafts.get',
      description: 'One draft, with its status, the sent message id, the error or the rejection reason.',
      input: byId,
      idempotency: 'pure',
      run: (input, ctx) => drafts.get(ctx.tenantId, input.id),
    }),
    erase(
      defineSyscall({
        name: 'mail.drafts.list',
        description: 'A mailbox’s drafts, newest first, optionally in one status; `before` pages.',
        input: z
          .object({
            mailbox: text,
            status: z.enum(DRAFT_STATUSES).optional(),
            limit: z.number().int().min(1).max(200).default(50),
            before: text.optional(),
          })
          .strict(),
        output: z.object({ drafts: z.array(draftSchema) }),
        idempotency: 'pure',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => ({ drafts: (await drafts.list(ctx.tenantId, input)).map(draftOut) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.drafts.delete',
        description: 'Deletes a draft (any status but sending).',
        input: byId,
        output: z.object({ deleted: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `mail/drafts/${input.id}`,
        handler: async (input, ctx) => {
          await drafts.delete(ctx.tenantId, input.id);
          return { deleted: true as const };
        },
      }),
    ),
    onDraft({
      name: 'mail.drafts.send',
      description:
        'Sends a draft now, at most once: a sent draft is returned as it is, one being sent or awaiting approval is refused (E_CONFLICT).',
      input: byId,
      idempotency: 'idempotent',
      slow: true,
      run: (input, ctx) => drafts.send(ctx.tenantId, input.id),
    }),
    onDraft({
      name: 'mail.drafts.schedule',
      description: 'Schedules a draft to be sent at sendAt (ISO time or epoch ms).',
      input: z.object({ id: text, sendAt: when }).strict(),
      idempotency: 'idempotent',
      run: (input, ctx) => drafts.schedule(ctx.tenantId, input.id, new Date(input.sendAt).getTime()),
    }),
    onDraft({
      name: 'mail.drafts.cancel',
      description: 'Takes a scheduled draft back to a plain draft before it is due.',
      input: byId,
      idempotency: 'idempotent',
      run: (input, ctx) => drafts.cancel(ctx.tenantId, input.id),
    }),
    erase(
      defineSyscall({
        name: 'mail.drafts.request_approval',
        description:
          'Asks for a message to be approved before it is sent: stored as a pending_approval draft for someone granted mail.drafts.approve.',
        input: z
          .object({
            mailbox: text,
            to: z.array(z.string().max(400)).min(1).max(50),
            subject: z.string().max(998),
            text: z.string().max(1_000_000),
            inReplyTo: text.optional(),
          })
          .strict(),
        output: draftSchema,
        idempotency: 'unsafe',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) =>
          draftOut(
            await drafts.create(
              ctx.tenantId,
              { ...input, status: 'pending_approval' },
              { requestedBy: ctx.principal.id, ...(ctx.runId ? { runId: ctx.runId } : {}) },
            ),
          ),
      }),
    ),
    onDraft({
      name: 'mail.drafts.approve',
      description: 'Approves a draft awaiting approval and sends it; its requester cannot approve it.',
      input: byId,
      idempotency: 'unsafe',
      slow: true,
      run: (input, ctx) => drafts.approve(ctx.tenantId, input.id, ctx.principal.id),
    }),
    onDraft({
      name: 'mail.drafts.reject',
      description: 'Rejects a draft awaiting approval, with the reason its requester will read.',
      input: z.object({ id: text, reason: z.string().min(1).max(2000) }).strict(),
      idempotency: 'idempotent',
      run: (input, ctx) =>
        drafts.reject(ctx.tenantId, input.id, { approver: ctx.principal.id, reason: input.reason }),
    }),
    onDraft({
      name: 'mail.drafts.wait',
      description: `Waits in the call (at most ${MAX_BLOCKING_WAIT_MS / 1000} s) until a draft is sent, failed or rejected; E_WAIT_TIMEOUT otherwise.`,
      input: z.object({ id: text, timeoutMs: z.number().int().min(1).max(MAX_BLOCKING_WAIT_MS) }).strict(),
      idempotency: 'pure',
      run: (input, ctx) =>
        drafts.waitSettled(ctx.tenantId, input.id, { timeoutMs: input.timeoutMs, signal: ctx.signal }),
    }),
    erase(
      defineSyscall({
        name: 'mail.settings.get',
        description: 'A mailbox’s settings (approval before send).',
        input: z.object({ mailbox: text }).strict(),
        output: settingsSchema,
        idempotency: 'pure',
        resource: (input) => `mail/settings/${input.mailbox}`,
        handler: (input, ctx) => drafts.settings(ctx.tenantId, input.mailbox),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.settings.set',
        description:
          'Sets a mailbox’s settings: with approvalRequired, an agent’s mail.send becomes a draft awaiting approval.',
        input: z.object({ mailbox: text, approvalRequired: z.boolean() }).strict(),
        output: settingsSchema,
        idempotency: 'idempotent',
        resource: (input) => `mail/settings/${input.mailbox}`,
        handler: (input, ctx) =>
          drafts.setSettings(ctx.tenantId, input.mailbox, { approvalRequired: input.approvalRequired }),
      }),
    ),
  ];
}
