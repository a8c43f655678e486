/**
 * Syscalls of mail policy: `mail.lists.add|remove|list` (allow/block lists), `mail.caps.set|get`
 * (send caps; no mailbox sets the tenant default), `mail.suppressions.list|add|remove`,
 * `mail.bounces.list` and `mail.auto_submitted.list` (automatic messages and refused storms). The
 * tenant comes from the caller's principal; addresses are plain strings validated by the policy
 * code, so a bad one is refused with E_MAIL_ADDRESS_INVALID and nothing is stored.
 * Resources: `mail/mailboxes/<mailbox>`, `mail/caps` (the tenant default), `mail/suppressions[/<address>]`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import type { Mail } from './mail.ts';
import type { MailPolicy } from './policy.ts';
import { addEntry, listEntries, removeEntry, type ListEntry } from './policy-lists.ts';
import { TENANT_DEFAULT } from './policy-migrations.ts';
import { listAutoSubmitted, listBounces, listLoopRefusals } from './policy-reports.ts';
import { countSent, effectiveCap, MAX_CAP_WINDOW_MS, setCap } from './send-caps.ts';
import { listSuppressions, suppress, unsuppress } from './suppressions.ts';

const text = z.string().min(1).max(320);
const iso = (ms: number): string => new Date(ms).toISOString();
const limit = z.number().int().min(1).max(500).default(100);
const listEntry = z
  .object({
    mailbox: text,
    entry: text,
    kind: z.enum(['allow', 'block']),
    direction: z.enum(['inbound', 'outbound', 'both']).default('both'),
  })
  .strict();
const entryOut = (e: ListEntry) => ({
  entry: e.entry,
  kind: e.kind,
  direction: e.direction,
  createdAt: iso(e.createdAt),
});
const entrySchema = z.object({
  entry: z.string(),
  kind: z.string(),
  direction: z.string(),
  createdAt: z.string(),
});
const capSchema = z
  .object({ limit: z.number(), windowMs: z.number(), source: z.enum(['mailbox', 'tenant']) })
  .nullable();
const mailboxResource = (input: { mailbox: string }): string => `mail/mailboxes/${input.mailbox}`;
const addressInput = z.object({ address: text }).strict();
const suppressionResource = (input: { address: string }): string =>
  `mail/suppressions/${input.address.toLowerCase()}`;

/** The mail policy syscalls over a mail service and its policy extension. */
export function policySyscalls(mail: Mail, policy: MailPolicy): SyscallDefinition<unknown, unknown>[] {
  const store = policy.store;
  const now = (): number => policy.clock.now();
  return [
    erase(
      defineSyscall({
        name: 'mail.lists.add',
        description:
          'Adds an allow or block entry (an address or @domain) to a mailbox for inbound senders, outbound recipients or both; with allow entries only listed addresses pass.',
        input: listEntry,
        output: entrySchema,
        idempotency: 'idempotent',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          return entryOut(
            await addEntry(store, { ...input, tenant: ctx.tenantId, mailboxId: box.id, now: now() }),
          );
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.lists.remove',
        description: 'Removes an allow or block entry from a mailbox.',
        input: listEntry,
        output: z.object({ removed: z.boolean() }),
        idempotency: 'idempotent',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          return { removed: await removeEntry(store, { ...input, mailboxId: box.id }) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.lists.list',
        description: 'A mailbox’s allow and block entries.',
        input: z.object({ mailbox: text }).strict(),
        output: z.object({ entries: z.array(entrySchema) }),
        idempotency: 'pure',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          return { entries: (await listEntries(store, box.id)).map(entryOut) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.caps.set',
        description:
          'Sets a mailbox’s send cap (at most `limit` messages per `windowMs`), or without a mailbox the tenant default; limit null removes it.',
        input: z
          .object({
            mailbox: text.optional(),
            limit: z.number().int().min(0).nullable(),
            windowMs: z.number().int().min(1000).max(MAX_CAP_WINDOW_MS).default(3_600_000),
          })
          .strict(),
        output: z.object({ cap: capSchema }),
        idempotency: 'idempotent',
        resource: (input) => (input.mailbox ? `mail/mailboxes/${input.mailbox}` : 'mail/caps'),
        handler: async (input, ctx) => {
          const mailboxId = input.mailbox
            ? (await mail.getMailbox(ctx.tenantId, input.mailbox)).id
            : TENANT_DEFAULT;
          const cap = input.limit === null ? null : { limit: input.limit, windowMs: input.windowMs };
          await setCap(store, { tenant: ctx.tenantId, mailboxId, cap, now: now() });
          return { cap: (await effectiveCap(store, ctx.tenantId, mailboxId)) ?? null };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.caps.get',
        description:
          'The send cap that applies to a mailbox (its own or the tenant default) and what it sent in the window.',
        input: z.object({ mailbox: text }).strict(),
        output: z.object({ cap: capSchema, sentInWindow: z.number() }),
        idempotency: 'pure',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          const cap = (await effectiveCap(store, ctx.tenantId, box.id)) ?? null;
          return { cap, sentInWindow: cap ? await countSent(store, box.id, now() - cap.windowMs) : 0 };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.suppressions.list',
        description:
          'The tenant’s suppressed addresses (hard bounces and manual entries), by address; `after` pages.',
        input: z.object({ limit, after: text.optional() }).strict(),
        output: z.object({
          suppressions: z.array(
            z.object({
              address: z.string(),
              reason: z.string(),
              status: z.string().nullable(),
              diagnostic: z.string().nullable(),
              bounceId: z.string().nullable(),
              createdAt: z.string(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: () => 'mail/suppressions',
        handler: async (input, ctx) => ({
          suppressions: (
            await listSuppressions(store, ctx.tenantId, {
              limit: input.limit,
              ...(input.after ? { after: input.after } : {}),
            })
          ).map((s) => ({ ...s, createdAt: iso(s.createdAt) })),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.suppressions.add',
        description: 'Suppresses an address for every mailbox of the tenant (no mail is sent to it).',
        input: addressInput,
        output: z.object({ address: z.string() }),
        idempotency: 'idempotent',
        resource: suppressionResource,
        handler: async (input, ctx) => {
          await suppress(store, {
            tenant: ctx.tenantId,
            address: input.address,
            reason: 'manual',
            now: now(),
          });
          return { address: input.address.toLowerCase() };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.suppressions.remove',
        description: 'Removes an address from the suppression list, so mail may be sent to it again.',
        input: addressInput,
        output: z.object({ removed: z.boolean() }),
        idempotency: 'idempotent',
        resource: suppressionResource,
        handler: async (input, ctx) => ({ removed: await unsuppress(store, ctx.tenantId, input.address) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.bounces.list',
        description:
          'A mailbox’s bounces read from delivery reports, newest first: the message, recipient, status (5.x.x hard, 4.x.x soft) and diagnostic.',
        input: z.object({ mailbox: text, limit }).strict(),
        output: z.object({
          bounces: z.array(
            z.object({
              id: z.string(),
              messageId: z.string(),
              reportId: z.string(),
              recipient: z.string(),
              action: z.string(),
              status: z.string(),
              kind: z.enum(['hard', 'soft']),
              diagnostic: z.string().nullable(),
              createdAt: z.string(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          const bounces = await listBounces(store, box.id, input.limit);
          return { bounces: bounces.map((b) => ({ ...b, createdAt: iso(b.createdAt) })) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.auto_submitted.list',
        description:
          'A mailbox’s inbound messages labelled automatic (RFC 3834: Auto-Submitted, X-Autoreply, Precedence, null sender), which agents must not answer, and the auto-reply storms refused per sender.',
        input: z.object({ mailbox: text, limit }).strict(),
        output: z.object({
          messages: z.array(
            z.object({ messageId: z.string(), sender: z.string(), reason: z.string(), at: z.string() }),
          ),
          storms: z.array(z.object({ sender: z.string(), refused: z.number(), lastAt: z.string() })),
        }),
        idempotency: 'pure',
        resource: mailboxResource,
        handler: async (input, ctx) => {
          const box = await mail.getMailbox(ctx.tenantId, input.mailbox);
          const messages = await listAutoSubmitted(store, box.id, input.limit);
          const storms = await listLoopRefusals(store, box.id);
          return {
            messages: messages.map((m) => ({
              messageId: m.messageId,
              sender: m.sender,
              reason: m.reason,
              at: iso(m.createdAt),
            })),
            storms: storms.map((s) => ({ sender: s.sender, refused: s.refused, lastAt: iso(s.lastAt) })),
          };
        },
      }),
    ),
  ];
}
