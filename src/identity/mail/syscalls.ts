/**
 * `mail.*` syscalls: mailboxes (create, list), send, list, get, threads, extractCodes and the
 * waits for inbound mail (wait-syscalls.ts). The
 * tenant always comes from the caller's principal. Address, subject and display-name strings are
 * taken as plain strings here and validated by the mail service, so a refusal carries its specific
 * E_MAIL_* code rather than a generic schema error.
 * Resources: `mail/mailboxes[/<mailbox>]`, `mail/messages/<id>`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallContext, type SyscallDefinition } from '../../kernel/index.ts';
import { draftSchema, type DraftOut } from './draft-schema.ts';
import type { SendRequest } from './drafts-syscalls.ts';
import type { Mail } from './mail.ts';
import type { Mailbox, Thread } from './repo.ts';
import { messageOut, messageSchema } from './message-schema.ts';
import { mailWaitSyscalls } from './wait-syscalls.ts';

const text = z.string().min(1).max(320);

const mailboxSchema = z.object({
  id: z.string(),
  agent: z.string(),
  address: z.string(),
  displayName: z.string().nullable(),
  createdAt: z.string(),
});

const threadSchema = z.object({
  id: z.string(),
  subject: z.string(),
  participants: z.array(z.string()),
  firstAt: z.string(),
  lastAt: z.string(),
  messageCount: z.number(),
});

const mailboxOut = (m: Mailbox): z.infer<typeof mailboxSchema> => ({
  id: m.id,
  agent: m.agent,
  address: m.address,
  displayName: m.displayName,
  createdAt: new Date(m.createdAt).toISOString(),
});

const threadOut = (t: Thread): z.infer<typeof threadSchema> => ({
  id: t.id,
  subject: t.subject,
  participants: [...t.participants],
  firstAt: new Date(t.firstAt).toISOString(),
  lastAt: new Date(t.lastAt).toISOString(),
  messageCount: t.messageCount,
});

export interface MailSyscallOptions {
  /** Asked by `mail.send` first: a draft it returns is the answer and nothing is sent (approvalHold). */
  readonly holdSend?: (request: SendRequest, ctx: SyscallContext) => Promise<DraftOut | undefined>;
}

/** The `mail.*` syscall definitions over one mail service. */
export function mailSyscalls(
  mail: Mail,
  options: MailSyscallOptions = {},
): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'mail.mailboxes.create',
        description: 'Creates a mailbox (one plain address in a configured domain) for an agent.',
        input: z.object({ agent: text, address: text, displayName: z.string().max(200).optional() }).strict(),
        output: mailboxSchema,
        idempotency: 'unsafe',
        resource: (input) => `mail/mailboxes/${input.address.toLowerCase()}`,
        handler: async (input, ctx) =>
          mailboxOut(await mail.createMailbox({ tenant: ctx.tenantId, ...input })),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.mailboxes.list',
        description: 'The tenant’s mailboxes, optionally of one agent.',
        input: z.object({ agent: text.optional() }).strict(),
        output: z.object({ mailboxes: z.array(mailboxSchema) }),
        idempotency: 'pure',
        resource: () => 'mail/mailboxes',
        handler: async (input, ctx) => ({
          mailboxes: (await mail.listMailboxes(ctx.tenantId, input.agent)).map(mailboxOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.send',
        description:
          'Sends a plain-text message from a mailbox through the relay, DKIM-signed; inReplyTo (a message id) threads it as a reply.',
        input: z
          .object({
            mailbox: text,
            to: z.union([z.string().max(400), z.array(z.string().max(400)).min(1).max(50)]),
            subject: z.string().max(998),
            text: z.string().max(1_000_000),
            inReplyTo: text.optional(),
          })
          .strict(),
        // A draft awaiting approval when the mailbox holds agents' sends (drafts-syscalls.ts).
        output: z.union([messageSchema, draftSchema]),
        idempotency: 'unsafe',
        retry: { attempts: 1 },
        timeoutMs: 60_000,
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        auditResult: (_input, output) => ({
          id: output.id,
          messageId: output.messageId,
          status: output.status,
        }),
        handler: async (input, ctx) => {
          const held = await options.holdSend?.(input, ctx);
          if (held) return held;
          const mailbox = await mail.getMailbox(ctx.tenantId, input.mailbox);
          const sent = await mail.send({
            tenant: ctx.tenantId,
            mailboxId: mailbox.id,
            to: typeof input.to === 'string' ? [input.to] : input.to,
            subject: input.subject,
            text: input.text,
            ...(input.inReplyTo ? { inReplyTo: input.inReplyTo } : {}),
          });
          return messageOut(sent, false);
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.list',
        description: 'A mailbox’s messages, newest first, optionally of one thread; `before` pages.',
        input: z
          .object({
            mailbox: text,
            thread: text.optional(),
            limit: z.number().int().min(1).max(200).default(50),
            before: text.optional(),
          })
          .strict(),
        output: z.object({ messages: z.array(messageSchema) }),
        idempotency: 'pure',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => ({
          messages: (
            await mail.list({
              tenant: ctx.tenantId,
              mailbox: input.mailbox,
              limit: input.limit,
              ...(input.thread ? { threadId: input.thread } : {}),
              ...(input.before ? { before: input.before } : {}),
            })
          ).map((m) => messageOut(m, false)),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.get',
        description: 'One message with its HTML, authentication verdicts and attachments’ metadata.',
        input: z.object({ id: text }).strict(),
        output: messageSchema,
        idempotency: 'pure',
        resource: (input) => `mail/messages/${input.id}`,
        handler: async (input, ctx) => messageOut(await mail.get(ctx.tenantId, input.id), true),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.threads',
        description: 'A mailbox’s threads, most recently active first.',
        input: z.object({ mailbox: text, limit: z.number().int().min(1).max(200).default(50) }).strict(),
        output: z.object({ threads: z.array(threadSchema) }),
        idempotency: 'pure',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => ({
          threads: (await mail.threads(ctx.tenantId, input.mailbox, input.limit)).map(threadOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.extract_codes',
        description:
          'One-time codes (4–8 digits) and links with their domain (magic sign-in links marked) from a message.',
        input: z.object({ id: text }).strict(),
        output: z.object({
          codes: z.array(z.object({ code: z.string(), context: z.string() })),
          links: z.array(z.object({ url: z.string(), domain: z.string(), magic: z.boolean() })),
          authenticated: z.boolean(),
        }),
        idempotency: 'pure',
        resource: (input) => `mail/messages/${input.id}`,
        handler: async (input, ctx) => {
          const message = await mail.get(ctx.tenantId, input.id);
          const found = await mail.extractCodes(ctx.tenantId, input.id);
          return {
            codes: found.codes.map((c) => ({ ...c })),
            links: found.links.map((l) => ({ ...l })),
            authenticated: message.authenticated,
          };
        },
      }),
    ),
    ...mailWaitSyscalls(mail),
  ];
}
