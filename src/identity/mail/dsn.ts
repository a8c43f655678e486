/**
 * Delivery status notifications (RFC 3464): a `multipart/report; report-type=delivery-status`
 * message whose `message/delivery-status` part holds one block of fields per recipient (Action,
 * Status, Final-Recipient, Diagnostic-Code), followed by the returned message or its headers.
 *
 * mailparser folds the delivery-status part into the text by default (that is what inbound stores),
 * so a report is parsed again from its stored raw bytes with `keepDeliveryStatus`, which keeps the
 * part as an attachment.
 *
 * A bounce is recorded only against a message this mailbox sent (found by the Message-ID in the
 * returned headers, else In-Reply-To/References), and only an address that message was sent to is
 * suppressed: a forged report naming no message of ours, or someone else, changes nothing.
 */
import type { ParsedMail } from 'mailparser';
import { newId, type Transaction } from '../../kernel/index.ts';
import { safeText, type MailMessage } from './repo.ts';
import { suppress } from './suppressions.ts';
import { parseIdList } from './threading.ts';

export type BounceKind = 'hard' | 'soft';

export interface DsnRecipient {
  readonly finalRecipient: string | null;
  readonly originalRecipient: string | null;
  readonly action: string;
  /** `5.1.1`; `null` when absent or malformed. */
  readonly status: string | null;
  readonly diagnostic: string | null;
}

export interface DeliveryReport {
  readonly recipients: readonly DsnRecipient[];
  /** The Message-ID of the message the report is about, when it names one. */
  readonly originalMessageId: string | null;
}

const MAX_DIAGNOSTIC = 1000;

/** Whether the parsed message is a delivery status notification. */
export function isDeliveryReport(parsed: ParsedMail): boolean {
  const type = parsed.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  return (
    type?.value?.toLowerCase() === 'multipart/report' &&
    type.params?.['report-type']?.toLowerCase() === 'delivery-status'
  );
}

/** Header-style blocks (separated by blank lines), folded lines joined, names lower-cased. */
export function fieldBlocks(text: string): Map<string, string>[] {
  const unfolded = text.replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ');
  return unfolded
    .split(/\n\s*\n/)
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
      }
      return fields;
    })
    .filter((fields) => fields.size > 0);
}

/** `rfc822; a@x.test` → `a@x.test` (lower-cased); other address types are ignored. */
const rfc822Address = (value: string | undefined): string | null => {
  const match = /^\s*rfc822\s*;\s*<?([^\s<>]+@[^\s<>]+?)>?\s*$/i.exec(value ?? '');
  return match ? (match[1] as string).toLowerCase() : null;
};

/** The per-recipient blocks of a `message/delivery-status` body. */
export function parseDeliveryStatus(body: string): DsnRecipient[] {
  return fieldBlocks(body)
    .filter(
      (fields) => fields.has('action') && (fields.has('final-recipient') || fields.has('original-recipient')),
    )
    .map((fields) => {
      const diagnostic = fields.get('diagnostic-code')?.replace(/^[a-z-]+\s*;\s*/i, '') ?? null;
      return {
        finalRecipient: rfc822Address(fields.get('final-recipient')),
        originalRecipient: rfc822Address(fields.get('original-recipient')),
        action: (fields.get('action') ?? '').toLowerCase(),
        status: /^[245]\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0] ?? null,
        diagnostic: diagnostic === null ? null : safeText(diagnostic).slice(0, MAX_DIAGNOSTIC),
      };
    });
}

/** Reads a report from raw bytes; `undefined` when they hold no delivery-status part. */
export async function readDeliveryReport(raw: Buffer): Promise<DeliveryReport | undefined> {
  const { simpleParser } = await import('mailparser'); // on first use, as in inbound.ts
  const parsed = await simpleParser(raw, {
    skipTextToHtml: true,
    skipImageLinks: true,
    keepDeliveryStatus: true,
  });
  const status = parsed.attachments.find((a) => a.contentType === 'message/delivery-status');
  if (!status) return undefined;
  const returned = parsed.attachments.find(
    (a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers',
  );
  const returnedHeaders = returned ? fieldBlocks(returned.content.toString('latin1'))[0] : undefined;
  const originalMessageId =
    parseIdList(returnedHeaders?.get('message-id'))[0] ??
    parseIdList(parsed.inReplyTo)[0] ??
    parseIdList(parsed.references)[0] ??
    null;
  return { recipients: parseDeliveryStatus(status.content.toString('utf8')), originalMessageId };
}

/** A permanent failure (Action failed, Status 5.x.x) is hard; a failed or delayed 4.x.x soft. */
export function bounceKind(recipient: DsnRecipient): BounceKind | undefined {
  if (recipient.action !== 'failed' && recipient.action !== 'delayed') return undefined;
  return recipient.action === 'failed' && recipient.status?.startsWith('5.') ? 'hard' : 'soft';
}

/**
 * Records the report's bounces against the original message in the DSN's mailbox and suppresses
 * hard-bounced recipients, in the DSN's own transaction. Returns how many bounces were recorded.
 */
export async function recordBounces(
  tx: Transaction,
  dsn: MailMessage,
  report: DeliveryReport,
  now: number,
): Promise<number> {
  if (report.originalMessageId === null) return 0;
  const original = await tx.get<{ id: string; to_addrs: string }>(
    `SELECT id, to_addrs FROM mail_messages WHERE mailbox_id = ? AND direction = 'out' AND message_id = ?`,
    [dsn.mailboxId, report.originalMessageId],
  );
  if (!original) return 0;
  const sentTo = new Set(JSON.parse(original.to_addrs) as string[]);
  let recorded = 0;
  for (const recipient of report.recipients) {
    const kind = bounceKind(recipient);
    const address = [recipient.originalRecipient, recipient.finalRecipient].find(
      (a): a is string => a !== null && sentTo.has(a),
    );
    if (kind === undefined || address === undefined) continue;
    const id = newId('bnc', now);
    await tx.run(
      `INSERT INTO mail_bounces (id, tenant, mailbox_id, message_id, dsn_message_id, recipient, action, status, kind,
         diagnostic, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        dsn.tenant,
        dsn.mailboxId,
        original.id,
        dsn.id,
        address,
        recipient.action,
        recipient.status ?? '',
        kind,
        recipient.diagnostic,
        now,
      ],
    );
    recorded += 1;
    if (kind === 'hard') {
      await suppress(tx, {
        tenant: dsn.tenant,
        address,
        reason: 'hard-bounce',
        ...(recipient.status ? { status: recipient.status } : {}),
        ...(recipient.diagnostic ? { diagnostic: recipient.diagnostic } : {}),
        bounceId: id,
        now,
      });
    }
  }
  return recorded;
}
