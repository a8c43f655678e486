/**
 * Accepting one inbound message, whatever carried it (the SMTP server, a test, a benchmark): size,
 * hop and attachment caps first, then SPF/DKIM/DMARC/ARC, then parsing, then one transaction per
 * recipient mailbox. A refusal throws before anything is written, so nothing is stored half.
 */
import type { AddressObject } from 'mailparser';
import { StrataError, type Store, type Transaction } from '../../kernel/index.ts';
import { verifyMessage, type DNSResolver } from './auth.ts';
import type { InboundFacts } from './extensions.ts';
import { insertMessage, sha256, type Mailbox, type MailMessage } from './repo.ts';
import type { ThreadOptions } from './threading.ts';
import { parseIdList } from './threading.ts';

export interface InboundLimits {
  /** Raw message size cap in bytes. */
  readonly maxMessageBytes: number;
  /** Cap on one attachment's decoded size. */
  readonly maxAttachmentBytes: number;
  /** Cap on the number of attachments (MIME bombs with thousands of parts). */
  readonly maxAttachments: number;
  /** More `Received:` headers than this is treated as a mail loop. */
  readonly maxHops: number;
}

export interface InboundEnvelope {
  /** MAIL FROM; empty for bounces. */
  readonly mailFrom: string;
  readonly mailboxes: readonly Mailbox[];
  readonly remoteAddress: string;
  readonly helo: string;
}

export interface InboundContext {
  readonly store: Store;
  readonly limits: InboundLimits;
  readonly threading: ThreadOptions;
  readonly hostname: string;
  readonly now: () => number;
  readonly resolver?: DNSResolver;
  /** Before a mailbox's copy is stored; a StrataError refuses that copy (see extensions.ts). */
  readonly screen?: (mailbox: Mailbox, facts: InboundFacts) => Promise<void>;
  /** Runs in each stored message's transaction (waits fire there; extensions' onStored). */
  readonly afterStore?: (tx: Transaction, message: MailMessage, facts: InboundFacts) => Promise<void>;
}

function tooLarge(what: string, limit: number, size: number): StrataError {
  return new StrataError('E_MAIL_TOO_LARGE', `${what} is ${size} bytes, over the ${limit}-byte cap`, {
    limit,
    size,
  });
}

/** Counts `Received:` fields in the header block (before the first empty line). */
export function countHops(raw: Buffer): number {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 256 * 1024) : end).toString('latin1');
  return head.match(/^received[ \t]*:/gim)?.length ?? 0;
}

const addressesOf = (value: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? [value] : [])
    .flatMap((a) => a.value)
    .map((a) => (a.address ?? '').toLowerCase())
    .filter((a) => a.length > 0);

/** Checks, authenticates, parses and stores a message once per recipient mailbox. */
export async function acceptInbound(
  ctx: InboundContext,
  envelope: InboundEnvelope,
  raw: Buffer,
): Promise<MailMessage[]> {
  const { limits } = ctx;
  if (raw.length > limits.maxMessageBytes) throw tooLarge('the message', limits.maxMessageBytes, raw.length);
  const hops = countHops(raw);
  if (hops > limits.maxHops) {
    throw new StrataError('E_MAIL_LOOP', `the message has ${hops} Received headers (cap ${limits.maxHops})`, {
      hops,
      limit: limits.maxHops,
    });
  }
  const auth = await verifyMessage({
    raw,
    ip: envelope.remoteAddress,
    helo: envelope.helo,
    mailFrom: envelope.mailFrom,
    mta: ctx.hostname,
    ...(ctx.resolver ? { resolver: ctx.resolver } : {}),
  });
  // mailparser (~140 modules with html-to-text and iconv-lite) is loaded by the first message, not
  // with the mail layer: every CLI command and worker process opens the layer and most parse nothing.
  const { simpleParser } = await import('mailparser');
  const parsed = await simpleParser(raw, {
    skipTextToHtml: true,
    skipImageLinks: true,
    maxHtmlLengthToParse: limits.maxMessageBytes,
  });
  if (parsed.attachments.length > limits.maxAttachments) {
    throw new StrataError('E_MAIL_TOO_LARGE', `${parsed.attachments.length} attachments, over the cap`, {
      limit: limits.maxAttachments,
      count: parsed.attachments.length,
    });
  }
  for (const a of parsed.attachments) {
    if (a.content.length > limits.maxAttachmentBytes) {
      throw tooLarge(`attachment ${a.filename ?? '(unnamed)'}`, limits.maxAttachmentBytes, a.content.length);
    }
  }
  // A message without a Message-ID still needs a stable one to thread on; derive it from its bytes.
  const messageId = parseIdList(parsed.messageId)[0] ?? `strata-${sha256(raw).slice(0, 32)}@${ctx.hostname}`;
  const sender = parsed.from?.value[0];
  const receivedAt = ctx.now();
  const facts: InboundFacts = { parsed, mailFrom: envelope.mailFrom.toLowerCase() };
  const stored: MailMessage[] = [];
  let refusal: Error | undefined;
  for (const mailbox of envelope.mailboxes) {
    // One recipient's refusal (its block list, say) must not cost the others their copy.
    const refused = await ctx.screen?.(mailbox, facts).then(
      () => false,
      (error: unknown) => ((refusal ??= error instanceof Error ? error : new Error(String(error))), true),
    );
    if (refused) continue;
    stored.push(
      await ctx.store.transaction(async (tx) => {
        const message = await insertMessage(
          tx,
          {
            tenant: mailbox.tenant,
            mailboxId: mailbox.id,
            mailboxAddress: mailbox.address,
            direction: 'in',
            status: 'received',
            messageId,
            inReplyTo: parseIdList(parsed.inReplyTo)[0] ?? null,
            references: parseIdList(parsed.references),
            subject: parsed.subject ?? '',
            from: {
              address: (sender?.address ?? envelope.mailFrom).toLowerCase(),
              name: sender?.name ? sender.name : null,
            },
            to: addressesOf(parsed.to),
            cc: addressesOf(parsed.cc),
            sentAt: Number.isFinite(parsed.date?.getTime()) ? (parsed.date?.getTime() ?? null) : null,
            receivedAt,
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : null,
            raw,
            size: raw.length,
            auth,
            authenticated: auth.authenticated,
            attachments: parsed.attachments.map((a) => ({
              filename: a.filename ?? null,
              contentType: a.contentType,
              content: a.content,
            })),
            error: null,
          },
          ctx.threading,
        );
        await ctx.afterStore?.(tx, message, facts);
        return message;
      }),
    );
  }
  if (stored.length === 0 && refusal !== undefined) throw refusal;
  return stored;
}
