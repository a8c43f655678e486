/** How a message looks in syscall answers (shared by the mail syscalls and the wait syscalls). */
import { z } from 'zod';
import type { MailMessage } from './repo.ts';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const messageSchema = z.object({
  id: z.string(),
  mailboxId: z.string(),
  direction: z.enum(['in', 'out']),
  status: z.enum(['received', 'sending', 'sent', 'failed']),
  messageId: z.string(),
  threadId: z.string(),
  inReplyTo: z.string().nullable(),
  references: z.array(z.string()),
  subject: z.string(),
  from: z.object({ address: z.string(), name: z.string().nullable() }),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  sentAt: z.string().nullable(),
  receivedAt: z.string(),
  text: z.string(),
  html: z.string().nullable(),
  size: z.number(),
  authenticated: z.boolean(),
  /** `unauthenticated` on inbound mail whose DMARC verdict is anything but pass. */
  flags: z.array(z.string()),
  auth: z.unknown().nullable(),
  attachments: z.array(
    z.object({
      filename: z.string().nullable(),
      contentType: z.string(),
      size: z.number(),
      hash: z.string(),
    }),
  ),
  error: z.string().nullable(),
});

export function messageOut(m: MailMessage, withHtml: boolean): z.infer<typeof messageSchema> {
  return {
    id: m.id,
    mailboxId: m.mailboxId,
    direction: m.direction,
    status: m.status,
    messageId: m.messageId,
    threadId: m.threadId,
    inReplyTo: m.inReplyTo,
    references: [...m.references],
    subject: m.subject,
    from: { ...m.from },
    to: [...m.to],
    cc: [...m.cc],
    sentAt: iso(m.sentAt),
    receivedAt: new Date(m.receivedAt).toISOString(),
    text: m.text,
    html: withHtml ? m.html : null,
    size: m.size,
    authenticated: m.authenticated,
    flags: m.authenticated ? [] : ['unauthenticated'],
    auth: m.auth,
    attachments: m.attachments.map((a) => ({ ...a })),
    error: m.error,
  };
}
