/**
 * Extension points of the mail service, so features (allow/block lists, send caps, suppression,
 * DSN handling, auto-reply loop detection, webhooks, the event stream) live in their own files and
 * are plugged in with `mail.use(extension)` instead of growing mail.ts. Every hook is optional.
 *
 * Order: inbound — `screenInbound` (per recipient mailbox, before anything is stored; a StrataError
 * refuses that mailbox's copy), then `onStored` inside the message's transaction, then, after
 * commit, `afterDelivery`. Outbound — `screenOutbound` before the message is composed (a
 * StrataError refuses the send; nothing is stored), `onStored` in the transaction that stores it
 * (status `sending`), `afterSend` once it is `sent` or `failed`.
 */
import type { ParsedMail } from 'mailparser';
import type { Transaction } from '../../kernel/index.ts';
import type { Mailbox, MailMessage } from './repo.ts';

/** What an inbound hook knows besides the message: the parsed MIME, headers included. */
export interface InboundFacts {
  readonly parsed: ParsedMail;
  /** The SMTP envelope sender (MAIL FROM), lower-cased; empty for bounces (`<>`). */
  readonly mailFrom: string;
}

export interface OutboundDraft {
  readonly tenant: string;
  readonly mailbox: Mailbox;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

export interface MailExtension {
  readonly name: string;
  screenInbound?(mailbox: Mailbox, facts: InboundFacts): Promise<void>;
  onStored?(tx: Transaction, message: MailMessage, facts: InboundFacts | undefined): Promise<void>;
  afterDelivery?(messages: readonly MailMessage[]): Promise<void>;
  screenOutbound?(draft: OutboundDraft): Promise<void>;
  afterSend?(message: MailMessage): Promise<void>;
}

/** Runs one hook of every extension in order (each awaited before the next). */
export async function runHooks<K extends keyof Omit<MailExtension, 'name'>>(
  extensions: readonly MailExtension[],
  hook: K,
  ...args: Parameters<NonNullable<MailExtension[K]>>
): Promise<void> {
  for (const extension of extensions) {
    const fn = extension[hook] as ((...a: typeof args) => Promise<void>) | undefined;
    if (fn) await fn.apply(extension, args);
  }
}
