/**
 * Threading that survives broken clients.
 *
 * 1. Headers first: a message's own Message-ID plus every id in In-Reply-To and References are
 *    looked up in `mail_thread_refs`, the mailbox's map from every id it has seen, sent or
 *    referenced, to a thread. A reply that arrives before its parent registers the parent's id, so
 *    the parent joins the reply's thread when it comes. Ids from two threads in one message join
 *    them (that is header evidence). Lookups never walk chains, so a self-referencing or cyclic
 *    References header cannot loop.
 * 2. Fallback, only for a message that carries no reply headers at all but whose subject says it is
 *    a reply (Re:/AW:/SV:/Fwd:/FW: …): the most recent thread of the mailbox with the same normalised
 *    subject, a shared participant other than the mailbox itself, and activity within the window.
 *    The fallback attaches one message to one thread; it never joins two threads, so two
 *    header-backed conversations with the same subject stay apart, and a message that does carry
 *    reply headers is never placed by subject.
 *
 * Lookups are scoped to one mailbox: ids in inbound headers never reach another tenant's threads.
 */
import { forUpdate, newId, type Transaction } from '../../kernel/index.ts';

const WORD = String.raw`(?:re|aw|sv|vs|antw|fwd?|fw|wg|tr|rv)(?:\[\d+\]|\(\d+\))?\s*[:：]`;
const TAG = String.raw`\[[^\]]{0,40}\]`;
const PREFIX = new RegExp(String.raw`^\s*(?:${WORD}\s*|${TAG}\s*)`, 'i');
const REPLY = new RegExp(String.raw`^\s*(?:${TAG}\s*)*${WORD}`, 'i');
const MAX_IDS = 100;

/** Strips reply and forward prefixes (and list tags) repeatedly, folds case and whitespace. */
export function normalizeSubject(subject: string): string {
  let s = subject;
  for (let previous = ''; previous !== s;) {
    previous = s;
    s = s.replace(PREFIX, '');
  }
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Whether a subject starts with a reply or forward prefix. */
export function hasReplyPrefix(subject: string): boolean {
  return REPLY.test(subject);
}

/** Every `<id>` in one or more header values, without brackets, in order, deduplicated, capped. */
export function parseIdList(value: string | readonly string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(' ') : ((value as string | undefined) ?? '');
  const ids = [...text.matchAll(/<([^<>\s]{1,250})>/g)].map((m) => m[1] as string);
  // Keep the newest ancestors (the end of References) when a header is absurdly long.
  return [...new Set(ids)].slice(-MAX_IDS);
}

export interface ThreadInput {
  readonly tenant: string;
  readonly mailboxId: string;
  readonly mailboxAddress: string;
  readonly messageId: string;
  /** In-Reply-To and References ids. */
  readonly refs: readonly string[];
  readonly subject: string;
  readonly participants: readonly string[];
  readonly at: number;
}

export interface ThreadOptions {
  /** How long after a thread's last message the subject fallback may still attach to it. */
  readonly windowMs: number;
}

type ThreadRow = {
  id: string;
  participants: string;
  first_at: number;
  last_at: number;
  message_count: number;
};

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Finds or creates the thread of a new message inside `tx` and records its ids; returns the thread id. */
export async function assignThread(
  tx: Transaction,
  input: ThreadInput,
  options: ThreadOptions,
): Promise<string> {
  // One delivery per mailbox at a time, so two halves of a conversation cannot start two threads.
  await tx.get(`SELECT id FROM mail_mailboxes WHERE id = ?${forUpdate(tx)}`, [input.mailboxId]);
  const refs = input.refs.filter((r) => r !== input.messageId);
  const keys = [input.messageId, ...refs];
  const linked = await tx.all<ThreadRow>(
    `SELECT t.id, t.participants, t.first_at, t.last_at, t.message_count FROM mail_threads t
     WHERE t.id IN (SELECT thread_id FROM mail_thread_refs WHERE mailbox_id = ? AND message_id IN (${placeholders(keys.length)}))
     ORDER BY t.first_at, t.id`,
    [input.mailboxId, ...keys],
  );
  let thread = linked[0];
  if (thread && linked.length > 1) await mergeThreads(tx, thread, linked.slice(1));
  if (!thread && refs.length === 0 && hasReplyPrefix(input.subject)) {
    thread = await bySubject(tx, input, options);
  }
  const participants = new Set(input.participants);
  if (thread) {
    for (const p of JSON.parse(thread.participants) as string[]) participants.add(p);
    await tx.run(
      `UPDATE mail_threads SET participants = ?, first_at = ?, last_at = ?, message_count = message_count + 1
       WHERE id = ?`,
      [
        JSON.stringify([...participants].sort()),
        Math.min(thread.first_at, input.at),
        Math.max(thread.last_at, input.at),
        thread.id,
      ],
    );
  } else {
    const id = newId('thr', input.at);
    await tx.run(
      `INSERT INTO mail_threads (id, tenant, mailbox_id, subject, norm_subject, participants, first_at, last_at, message_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      [
        id,
        input.tenant,
        input.mailboxId,
        input.subject,
        normalizeSubject(input.subject),
        JSON.stringify([...participants].sort()),
        input.at,
        input.at,
      ],
    );
    thread = { id, participants: '[]', first_at: input.at, last_at: input.at, message_count: 1 };
  }
  for (const key of keys) {
    await tx.run(
      `INSERT INTO mail_thread_refs (mailbox_id, message_id, thread_id) VALUES (?, ?, ?)
       ON CONFLICT (mailbox_id, message_id) DO NOTHING`,
      [input.mailboxId, key, thread.id],
    );
  }
  return thread.id;
}

async function bySubject(
  tx: Transaction,
  input: ThreadInput,
  options: ThreadOptions,
): Promise<ThreadRow | undefined> {
  const own = input.mailboxAddress;
  const mine = new Set(input.participants.filter((p) => p !== own));
  const candidates = await tx.all<ThreadRow>(
    `SELECT id, participants, first_at, last_at, message_count FROM mail_threads
     WHERE mailbox_id = ? AND norm_subject = ? AND last_at >= ? ORDER BY last_at DESC, id DESC LIMIT 20`,
    [input.mailboxId, normalizeSubject(input.subject), input.at - options.windowMs],
  );
  return candidates.find((t) => (JSON.parse(t.participants) as string[]).some((p) => mine.has(p)));
}

async function mergeThreads(tx: Transaction, target: ThreadRow, others: readonly ThreadRow[]): Promise<void> {
  const ids = others.map((t) => t.id);
  const participants = new Set(JSON.parse(target.participants) as string[]);
  for (const t of others) for (const p of JSON.parse(t.participants) as string[]) participants.add(p);
  const list = placeholders(ids.length);
  await tx.run(`UPDATE mail_messages SET thread_id = ? WHERE thread_id IN (${list})`, [target.id, ...ids]);
  await tx.run(`UPDATE mail_thread_refs SET thread_id = ? WHERE thread_id IN (${list})`, [target.id, ...ids]);
  await tx.run(`DELETE FROM mail_threads WHERE id IN (${list})`, ids);
  target.participants = JSON.stringify([...participants].sort());
  target.first_at = Math.min(target.first_at, ...others.map((t) => t.first_at));
  target.last_at = Math.max(target.last_at, ...others.map((t) => t.last_at));
  const count = target.message_count + others.reduce((n, t) => n + t.message_count, 0);
  await tx.run('UPDATE mail_threads SET message_count = ? WHERE id = ?', [count, target.id]);
  target.message_count = count;
}
