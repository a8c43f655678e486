/**
 * Rows in and out of the mail tables. Blobs (raw messages, attachments) are content-addressed by
 * SHA-256, so a message delivered to ten mailboxes, or an attachment sent twice, is stored once.
 * Text is made safe for both engines before it is stored: PostgreSQL refuses NUL in TEXT and lone
 * surrogates are not UTF-8.
 */
import { createHash } from 'node:crypto';
import { newId, type Queryable, type Transaction } from '../../kernel/index.ts';
import type { AuthVerdicts } from './auth.ts';
import { assignThread, type ThreadOptions } from './threading.ts';

export type Direction = 'in' | 'out';
export type MessageStatus = 'received' | 'sending' | 'sent' | 'failed';

export interface Mailbox {
  readonly id: string;
  readonly tenant: string;
  readonly agent: string;
  readonly address: string;
  readonly displayName: string | null;
  readonly createdAt: number;
}

export interface AttachmentMeta {
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly hash: string;
}

export interface MailMessage {
  readonly id: string;
  readonly tenant: string;
  readonly mailboxId: string;
  readonly direction: Direction;
  readonly status: MessageStatus;
  /** The RFC 5322 Message-ID without angle brackets. */
  readonly messageId: string;
  readonly threadId: string;
  readonly inReplyTo: string | null;
  readonly references: readonly string[];
  readonly subject: string;
  readonly from: { readonly address: string; readonly name: string | null };
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly sentAt: number | null;
  readonly receivedAt: number;
  readonly text: string;
  readonly html: string | null;
  readonly rawHash: string | null;
  readonly size: number;
  readonly auth: AuthVerdicts | null;
  /** Inbound: DMARC passed. Outbound: true (Strata signed it). */
  readonly authenticated: boolean;
  readonly attachments: readonly AttachmentMeta[];
  readonly error: string | null;
}

export interface Thread {
  readonly id: string;
  readonly mailboxId: string;
  readonly subject: string;
  readonly participants: readonly string[];
  readonly firstAt: number;
  readonly lastAt: number;
  readonly messageCount: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces NUL and lone surrogates so any decoded text fits a TEXT column on both engines. */
export function safeText(value: string): string {
  return value.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Stores a blob once under its hash; returns the hash. */
export async function putBlob(q: Queryable, data: Buffer): Promise<string> {
  const hash = sha256(data);
  await q.run('INSERT INTO mail_blobs (hash, size, data) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING', [
    hash,
    data.length,
    data,
  ]);
  return hash;
}

export async function getBlob(q: Queryable, hash: string): Promise<Buffer | undefined> {
  const row = await q.get<{ data: Buffer }>('SELECT data FROM mail_blobs WHERE hash = ?', [hash]);
  return row?.data;
}

type NewMessage = Omit<MailMessage, 'id' | 'threadId' | 'attachments' | 'rawHash'> & {
  readonly raw: Buffer | null;
  readonly attachments: readonly { filename: string | null; contentType: string; content: Buffer }[];
  readonly mailboxAddress: string;
};

/** Stores a message with its raw bytes and attachments and threads it, all in `tx`. */
export async function insertMessage(
  tx: Transaction,
  message: NewMessage,
  threading: ThreadOptions,
): Promise<MailMessage> {
  const id = newId('msg', message.receivedAt);
  const participants = [message.from.address, ...message.to, ...message.cc].map((a) => a.toLowerCase());
  const threadId = await assignThread(
    tx,
    {
      tenant: message.tenant,
      mailboxId: message.mailboxId,
      mailboxAddress: message.mailboxAddress,
      messageId: message.messageId,
      refs: [...message.references, ...(message.inReplyTo ? [message.inReplyTo] : [])],
      subject: message.subject,
      participants: [...new Set(participants)],
      at: message.receivedAt,
    },
    threading,
  );
  const rawHash = message.raw ? await putBlob(tx, message.raw) : null;
  const attachments: AttachmentMeta[] = [];
  for (const [idx, a] of message.attachments.entries()) {
    const meta = { filename: a.filename, contentType: a.contentType, size: a.content.length, hash: '' };
    const stored = { ...meta, hash: await putBlob(tx, a.content) };
    await tx.run(
      'INSERT INTO mail_attachments (message_id, idx, filename, content_type, size, hash) VALUES (?, ?, ?, ?, ?, ?)',
      [id, idx, stored.filename, stored.contentType, stored.size, stored.hash],
    );
    attachments.push(stored);
  }
  await tx.run(
    `INSERT INTO mail_messages (id, tenant, mailbox_id, direction, status, message_id, thread_id, in_reply_to, refs,
       subject, from_addr, from_name, to_addrs, cc_addrs, sent_at, received_at, text_body, html_body, raw_hash, size,
       auth, authenticated, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      message.tenant,
      message.mailboxId,
      message.direction,
      message.status,
      message.messageId,
      threadId,
      message.inReplyTo,
      JSON.stringify(message.references),
      safeText(message.subject),
      message.from.address,
      message.from.name === null ? null : safeText(message.from.name),
      JSON.stringify(message.to),
      JSON.stringify(message.cc),
      message.sentAt,
      message.receivedAt,
      safeText(message.text),
      message.html === null ? null : safeText(message.html),
      rawHash,
      message.size,
      message.auth ? JSON.stringify(message.auth) : null,
      message.authenticated ? 1 : 0,
      message.error,
    ],
  );
  return { ...message, id, threadId, rawHash, attachments };
}

type MessageRow = {
  id: string;
  tenant: string;
  mailbox_id: string;
  direction: Direction;
  status: MessageStatus;
  message_id: string;
  thread_id: string;
  in_reply_to: string | null;
  refs: string;
  subject: string;
  from_addr: string;
  from_name: string | null;
  to_addrs: string;
  cc_addrs: string;
  sent_at: number | null;
  received_at: number;
  text_body: string;
  html_body: string | null;
  raw_hash: string | null;
  size: number;
  auth: string | null;
  authenticated: number;
  error: string | null;
};

const MESSAGE_COLUMNS = `id, tenant, mailbox_id, direction, status, message_id, thread_id, in_reply_to, refs, subject,
  from_addr, from_name, to_addrs, cc_addrs, sent_at, received_at, text_body, html_body, raw_hash, size, auth,
  authenticated, error`;

function messageOf(row: MessageRow, attachments: AttachmentMeta[]): MailMessage {
  return {
    id: row.id,
    tenant: row.tenant,
    mailboxId: row.mailbox_id,
    direction: row.direction,
    status: row.status,
    messageId: row.message_id,
    threadId: row.thread_id,
    inReplyTo: row.in_reply_to,
    references: JSON.parse(row.refs) as string[],
    subject: row.subject,
    from: { address: row.from_addr, name: row.from_name },
    to: JSON.parse(row.to_addrs) as string[],
    cc: JSON.parse(row.cc_addrs) as string[],
    sentAt: row.sent_at,
    receivedAt: row.received_at,
    text: row.text_body,
    html: row.html_body,
    rawHash: row.raw_hash,
    size: row.size,
    auth: row.auth === null ? null : (JSON.parse(row.auth) as AuthVerdicts),
    authenticated: row.authenticated === 1,
    attachments,
    error: row.error,
  };
}

/** One message of a tenant, with its attachments' metadata. */
export async function getMessage(q: Queryable, tenant: string, id: string): Promise<MailMessage | undefined> {
  const row = await q.get<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM mail_messages WHERE id = ? AND tenant = ?`,
    [id, tenant],
  );
  if (!row) return undefined;
  const attachments = await q.all<{
    filename: string | null;
    content_type: string;
    size: number;
    hash: string;
  }>('SELECT filename, content_type, size, hash FROM mail_attachments WHERE message_id = ? ORDER BY idx', [
    id,
  ]);
  return messageOf(
    row,
    attachments.map((a) => ({
      filename: a.filename,
      contentType: a.content_type,
      size: a.size,
      hash: a.hash,
    })),
  );
}

export interface ListQuery {
  readonly tenant: string;
  readonly mailboxId: string;
  readonly threadId?: string;
  readonly limit: number;
  /** Messages with ids below this one (newest first paging). */
  readonly before?: string;
}

/** A mailbox's messages, newest first, optionally of one thread; bodies included, attachments not. */
export async function listMessages(q: Queryable, query: ListQuery): Promise<MailMessage[]> {
  const where = ['tenant = ?', 'mailbox_id = ?'];
  const params: (string | number)[] = [query.tenant, query.mailboxId];
  if (query.threadId) {
    where.push('thread_id = ?');
    params.push(query.threadId);
  }
  if (query.before) {
    where.push('id < ?');
    params.push(query.before);
  }
  const rows = await q.all<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM mail_messages WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    [...params, query.limit],
  );
  return rows.map((r) => messageOf(r, []));
}

/** A mailbox's threads, most recently active first. */
export async function listThreads(
  q: Queryable,
  tenant: string,
  mailboxId: string,
  limit: number,
): Promise<Thread[]> {
  const rows = await q.all<{
    id: string;
    mailbox_id: string;
    subject: string;
    participants: string;
    first_at: number;
    last_at: number;
    message_count: number;
  }>(
    `SELECT id, mailbox_id, subject, participants, first_at, last_at, message_count FROM mail_threads
     WHERE tenant = ? AND mailbox_id = ? ORDER BY last_at DESC, id DESC LIMIT ?`,
    [tenant, mailboxId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    mailboxId: r.mailbox_id,
    subject: r.subject,
    participants: JSON.parse(r.participants) as string[],
    firstAt: r.first_at,
    lastAt: r.last_at,
    messageCount: r.message_count,
  }));
}

/** Sets an outbound message's delivery status. */
export async function setStatus(
  q: Queryable,
  id: string,
  change: { status: MessageStatus; error?: string | null; sentAt?: number },
): Promise<void> {
  await q.run('UPDATE mail_messages SET status = ?, error = ?, sent_at = COALESCE(?, sent_at) WHERE id = ?', [
    change.status,
    change.error ?? null,
    change.sentAt ?? null,
    id,
  ]);
}
