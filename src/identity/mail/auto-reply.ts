/**
 * Auto-reply loops (RFC 3834). Two agents with auto-responders answering each other, or an agent
 * answering a vacation notice, can exchange mail forever. Three defences:
 * - inbound messages that say they were generated automatically are labelled (RFC 3834
 *   `Auto-Submitted` other than `no`; the de facto `X-Autoreply`, `X-Autorespond`, `Precedence:
 *   bulk|junk|auto_reply`; a null envelope sender, which RFC 3834 §3.3 asks auto-responders to use);
 * - more than `threshold` of them from one sender to one mailbox within `windowMs` is a storm: the
 *   next ones are refused with E_MAIL_LOOP (SMTP 554 5.4.6) and counted. Delivery reports are exempt
 *   (nobody answers a bounce, so they cannot loop, and a burst of them after a bad send is normal);
 * - an outbound reply to a labelled message is refused (RFC 3834 §2: do not respond to automatic
 *   responses).
 */
import type { ParsedMail } from 'mailparser';
import { StrataError, type Queryable } from '../../kernel/index.ts';
import type { MailMessage } from './repo.ts';

export interface LoopOptions {
  /** Auto-submitted messages from one sender to one mailbox accepted per window. */
  readonly threshold: number;
  readonly windowMs: number;
}

export const LOOP_DEFAULTS = { threshold: 5, windowMs: 10 * 60 * 1000 } as const satisfies LoopOptions;

const AUTOMATIC_PRECEDENCE = new Set(['bulk', 'junk', 'auto_reply']);

/** A header's text whatever shape mailparser gave it (string, `{ value }`, repeated). */
function headerText(parsed: ParsedMail, name: string): string | undefined {
  const value = parsed.headers.get(name) as unknown;
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && 'value' in first && typeof first.value === 'string')
    return first.value;
  return undefined;
}

/** Why a message counts as automatically generated, or `undefined` when it does not. */
export function autoSubmittedReason(parsed: ParsedMail, mailFrom: string): string | undefined {
  const autoSubmitted = headerText(parsed, 'auto-submitted')?.trim().toLowerCase();
  // Any value but `no` counts (RFC 3834 §5); the label keeps only its keyword, not arbitrary text.
  if (autoSubmitted && !/^no\s*(;|$)/.test(autoSubmitted)) {
    return `auto-submitted: ${/^[a-z][a-z0-9_-]{0,39}(?=\s*(;|$))/.exec(autoSubmitted)?.[0] ?? 'other'}`;
  }
  if (parsed.headers.has('x-autoreply')) return 'x-autoreply';
  if (parsed.headers.has('x-autorespond')) return 'x-autorespond';
  const precedence = headerText(parsed, 'precedence')?.trim().toLowerCase();
  if (precedence && AUTOMATIC_PRECEDENCE.has(precedence)) return `precedence: ${precedence}`;
  if (mailFrom === '') return 'null-sender';
  return undefined;
}

/** The sender a storm is counted for: the From address, else the envelope sender. */
export function senderOf(parsed: ParsedMail, mailFrom: string): string {
  return (parsed.from?.value[0]?.address ?? mailFrom).toLowerCase();
}

/** Refuses (and counts) the next automatic message once a sender's storm passed the threshold. */
export async function refuseStorm(
  q: Queryable,
  input: { tenant: string; mailboxId: string; sender: string; now: number; loop: LoopOptions },
): Promise<void> {
  const row = await q.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM mail_auto_submitted WHERE mailbox_id = ? AND sender = ? AND created_at > ?',
    [input.mailboxId, input.sender, input.now - input.loop.windowMs],
  );
  const recent = Number(row?.n ?? 0);
  if (recent < input.loop.threshold) return;
  await q.run(
    `INSERT INTO mail_loop_refusals (tenant, mailbox_id, sender, refused, last_at) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (mailbox_id, sender) DO UPDATE SET refused = mail_loop_refusals.refused + 1, last_at = excluded.last_at`,
    [input.tenant, input.mailboxId, input.sender, input.now],
  );
  throw new StrataError(
    'E_MAIL_LOOP',
    `auto-reply storm: ${recent} automatic messages from ${input.sender} in the last ${input.loop.windowMs} ms (threshold ${input.loop.threshold})`,
    { sender: input.sender, count: recent, threshold: input.loop.threshold, windowMs: input.loop.windowMs },
  );
}

/** Labels a stored inbound message as automatically generated. */
export async function labelAutoSubmitted(
  q: Queryable,
  message: MailMessage,
  label: { sender: string; reason: string; now: number },
): Promise<void> {
  await q.run(
    `INSERT INTO mail_auto_submitted (message_id, tenant, mailbox_id, rfc_message_id, sender, reason, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [message.id, message.tenant, message.mailboxId, message.messageId, label.sender, label.reason, label.now],
  );
}

/** Refuses an outbound reply whose parent, in the same mailbox, was labelled automatic. */
export async function refuseReplyToAutomatic(q: Queryable, reply: MailMessage): Promise<void> {
  if (reply.inReplyTo === null) return;
  const parent = await q.get<{ message_id: string; reason: string; sender: string }>(
    'SELECT message_id, reason, sender FROM mail_auto_submitted WHERE mailbox_id = ? AND rfc_message_id = ?',
    [reply.mailboxId, reply.inReplyTo],
  );
  if (!parent) return;
  throw new StrataError(
    'E_MAIL_LOOP',
    `message ${parent.message_id} from ${parent.sender} is an automatic message (${parent.reason}); agents must not answer automatic replies (RFC 3834), so this reply was not sent`,
    { inReplyTo: parent.message_id, sender: parent.sender, reason: parent.reason },
  );
}
