/** How a draft looks in syscall answers (drafts-syscalls.ts, and `mail.send` when it holds a send). */
import { z } from 'zod';
import type { Draft } from './drafts-repo.ts';
import { iso } from './message-schema.ts';

export const DRAFT_STATUSES = [
  'draft',
  'scheduled',
  'pending_approval',
  'sending',
  'sent',
  'failed',
  'rejected',
] as const;

export const draftSchema = z.object({
  id: z.string(),
  mailboxId: z.string(),
  status: z.enum(DRAFT_STATUSES),
  to: z.array(z.string()),
  subject: z.string(),
  text: z.string(),
  inReplyTo: z.string().nullable(),
  sendAt: z.string().nullable(),
  /** The message sent from it (`msg_…`), once sent (or refused by the relay). */
  messageId: z.string().nullable(),
  error: z.string().nullable(),
  /** The approver's reason for a rejection. */
  reason: z.string().nullable(),
  requestedBy: z.string().nullable(),
  decidedBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sentAt: z.string().nullable(),
});

export type DraftOut = z.infer<typeof draftSchema>;

export const draftOut = (d: Draft): DraftOut => ({
  id: d.id,
  mailboxId: d.mailboxId,
  status: d.status,
  to: [...d.to],
  subject: d.subject,
  text: d.text,
  inReplyTo: d.inReplyTo,
  sendAt: iso(d.sendAt),
  messageId: d.messageId,
  error: d.error,
  reason: d.reason,
  requestedBy: d.requestedBy,
  decidedBy: d.decidedBy,
  createdAt: new Date(d.createdAt).toISOString(),
  updatedAt: new Date(d.updatedAt).toISOString(),
  sentAt: iso(d.sentAt),
});
