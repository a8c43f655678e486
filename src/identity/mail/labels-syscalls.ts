/**
 * `mail.labels.*` (add, remove, list by label) and `mail.reply_text`. Labels name their target by
 * id: a message (`msg_…`, resource `mail/messages/<id>`) or a thread (`thr_…`, `mail/threads/<id>`).
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallContext, type SyscallDefinition } from '../../kernel/index.ts';
import type { LabelTarget, Labels } from './labels.ts';
import type { Mail } from './mail.ts';
import { messageOut, messageSchema } from './message-schema.ts';
import { replyText } from './reply-text.ts';

const text = z.string().min(1).max(320);
const labelList = z.array(z.string().min(1).max(64)).min(1).max(20);
const targetInput = z
  .object({ message: text.optional(), thread: text.optional(), labels: labelList })
  .strict()
  .refine((i) => (i.message === undefined) !== (i.thread === undefined), {
    message: 'name either a message or a thread',
  });
type TargetInput = z.infer<typeof targetInput>;
const labelsOut = z.object({ target: z.string(), labels: z.array(z.string()) });

const targetOf = (i: TargetInput): LabelTarget =>
  i.message === undefined ? { kind: 'thread', id: i.thread ?? '' } : { kind: 'message', id: i.message };
const resourceOf = (i: TargetInput): string =>
  i.message === undefined ? `mail/threads/${i.thread ?? ''}` : `mail/messages/${i.message}`;

function changeLabels(
  name: string,
  description: string,
  change: (target: LabelTarget, labels: string[], ctx: SyscallContext) => Promise<string[]>,
): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name,
      description,
      input: targetInput,
      output: labelsOut,
      idempotency: 'idempotent',
      resource: resourceOf,
      handler: async (input, ctx) => {
        const target = targetOf(input);
        return { target: target.id, labels: await change(target, input.labels, ctx) };
      },
    }),
  );
}

export function labelSyscalls(parts: { mail: Mail; labels: Labels }): SyscallDefinition<unknown, unknown>[] {
  const { mail, labels } = parts;
  return [
    changeLabels(
      'mail.labels.add',
      'Adds labels to a message or a thread (a thread’s labels cover its messages); answers the labels it now has.',
      (target, names, ctx) => labels.add(ctx.tenantId, target, names),
    ),
    changeLabels(
      'mail.labels.remove',
      'Removes labels from a message or a thread; answers the labels it still has.',
      (target, names, ctx) => labels.remove(ctx.tenantId, target, names),
    ),
    erase(
      defineSyscall({
        name: 'mail.labels.list',
        description:
          'A mailbox’s messages with a label (their own or their thread’s), newest first, each with all its labels.',
        input: z
          .object({
            mailbox: text,
            label: z.string().min(1).max(64),
            limit: z.number().int().min(1).max(200).default(50),
            before: text.optional(),
          })
          .strict(),
        output: z.object({ messages: z.array(messageSchema.extend({ labels: z.array(z.string()) })) }),
        idempotency: 'pure',
        resource: (input) => `mail/mailboxes/${input.mailbox}`,
        handler: async (input, ctx) => {
          const found = await labels.messages(ctx.tenantId, input);
          const withLabels = found.map(async (m) => ({
            ...messageOut(m, false),
            labels: await labels.of(ctx.tenantId, { kind: 'message', id: m.id }),
          }));
          return { messages: await Promise.all(withLabels) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'mail.reply_text',
        description:
          'The new text of a reply: its quoted part (> lines, "On … wrote:" in several languages, Outlook headers) and signature removed.',
        input: z.object({ id: text }).strict(),
        output: z.object({ id: z.string(), text: z.string(), trimmed: z.boolean() }),
        idempotency: 'pure',
        resource: (input) => `mail/messages/${input.id}`,
        handler: async (input, ctx) => {
          const message = await mail.get(ctx.tenantId, input.id);
          return { id: message.id, ...replyText(message.text) };
        },
      }),
    ),
  ];
}
