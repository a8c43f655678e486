/**
 * Waits for inbound mail. A wait names a mailbox and what the awaited message looks like (sender,
 * subject words, thread, received since); it fires on the first inbound message that matches,
 * either one already stored when the wait is registered or one delivered later. Registering and
 * firing both hold the mailbox row's lock (the one threading takes), so a message arriving while a
 * wait is being registered is seen by exactly one of the two and never missed.
 *
 * A wait registered by a durable run is then signalled to that run (`mail:<wait id>`) by whoever
 * owns the engine; `signalled_at` records that the signal was handed over, so a process that dies
 * between the commit and the signal leaves a fired, unsignalled wait that the next sweep delivers.
 */
import { forUpdate, newId, StrataError, type Queryable, type Transaction } from '../../kernel/index.ts';
import type { MailMessage } from './repo.ts';

export interface MailWaitQuery {
  /** The sender's address, or `@domain` for any sender of that domain. */
  readonly from?: string;
  /** Words the subject contains (case-insensitive). */
  readonly subject?: string;
  /** A thread id (`thr_…`) the message must belong to. */
  readonly thread?: string;
  /** Only messages received at or after this time (epoch ms). @default when the wait is registered */
  readonly since?: number;
}

export type MailWaitStatus = 'waiting' | 'fired' | 'cancelled';

export interface MailWait {
  readonly id: string;
  readonly tenant: string;
  readonly mailboxId: string;
  /** The durable run told when the wait fires, if any. */
  readonly runId: string | null;
  /** The run signal's name: `mail:<id>`. */
  readonly signal: string;
  readonly query: MailWaitQuery;
  readonly status: MailWaitStatus;
  /** The Strata id (`msg_…`) of the message that fired it. */
  readonly messageId: string | null;
  readonly createdAt: number;
  readonly firedAt: number | null;
}

type WaitRow = {
  id: string;
  tenant: string;
  mailbox_id: string;
  run_id: string | null;
  query: string;
  status: MailWaitStatus;
  message_id: string | null;
  created_at: number;
  fired_at: number | null;
};

export const waitSignal = (waitId: string): string => `mail:${waitId}`;

const waitOf = (row: WaitRow): MailWait => ({
  id: row.id,
  tenant: row.tenant,
  mailboxId: row.mailbox_id,
  runId: row.run_id,
  signal: waitSignal(row.id),
  query: JSON.parse(row.query) as MailWaitQuery,
  status: row.status,
  messageId: row.message_id,
  createdAt: row.created_at,
  firedAt: row.fired_at,
});

/** Whether an inbound message is what the wait's query describes. */
export function matchesWait(
  query: MailWaitQuery,
  message: Pick<MailMessage, 'from' | 'subject' | 'threadId' | 'receivedAt'>,
): boolean {
  if (query.since !== undefined && message.receivedAt < query.since) return false;
  if (query.thread !== undefined && message.threadId !== query.thread) return false;
  if (query.from !== undefined) {
    const from = query.from.toLowerCase();
    const sender = message.from.address.toLowerCase();
    if (from.startsWith('@') ? !sender.endsWith(from) : sender !== from) return false;
  }
  if (query.subject !== undefined && !message.subject.toLowerCase().includes(query.subject.toLowerCase()))
    return false;
  return true;
}

/** Candidate messages for a query, oldest first; `matchesWait` decides (subject and domain in JS). */
async function firstStoredMatch(
  q: Queryable,
  mailboxId: string,
  query: MailWaitQuery & { since: number },
): Promise<string | null> {
  const conditions = ['mailbox_id = ?', "direction = 'in'", 'received_at >= ?'];
  const params: (string | number)[] = [mailboxId, query.since];
  if (query.thread !== undefined) {
    conditions.push('thread_id = ?');
    params.push(query.thread);
  }
  if (query.from !== undefined && !query.from.startsWith('@')) {
    conditions.push('from_addr = ?');
    params.push(query.from.toLowerCase());
  }
  const rows = await q.all<{
    id: string;
    from_addr: string;
    subject: string;
    thread_id: string;
    received_at: number;
  }>(
    `SELECT id, from_addr, subject, thread_id, received_at FROM mail_messages WHERE ${conditions.join(' AND ')} ORDER BY id`,
    params,
  );
  const hit = rows.find((r) =>
    matchesWait(query, {
      from: { address: r.from_addr, name: null },
      subject: r.subject,
      threadId: r.thread_id,
      receivedAt: r.received_at,
    }),
  );
  return hit?.id ?? null;
}

/**
 * Registers a wait, firing it at once on a stored message that already matches. With a `key`
 * (a run's syscall idempotency key), registering again returns the same wait.
 */
export async function registerWait(
  tx: Transaction,
  input: {
    tenant: string;
    mailboxId: string;
    runId: string | null;
    key: string | null;
    query: MailWaitQuery;
    now: number;
  },
): Promise<MailWait> {
  await tx.get(`SELECT id FROM mail_mailboxes WHERE id = ?${forUpdate(tx)}`, [input.mailboxId]);
  if (input.key !== null) {
    const existing = await tx.get<WaitRow>('SELECT * FROM mail_waits WHERE tenant = ? AND idem_key = ?', [
      input.tenant,
      input.key,
    ]);
    if (existing) return waitOf(existing);
  }
  const query = { ...input.query, since: input.query.since ?? input.now };
  const messageId = await firstStoredMatch(tx, input.mailboxId, query);
  const row: WaitRow = {
    id: newId('mwt', input.now),
    tenant: input.tenant,
    mailbox_id: input.mailboxId,
    run_id: input.runId,
    query: JSON.stringify(query),
    status: messageId ? 'fired' : 'waiting',
    message_id: messageId,
    created_at: input.now,
    fired_at: messageId ? input.now : null,
  };
  // Fired at registration: the caller gets the message in the answer, so there is nothing to signal.
  await tx.run(
    `INSERT INTO mail_waits (id, tenant, mailbox_id, run_id, idem_key, query, status, message_id, created_at, fired_at, signalled_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      row.id,
      row.tenant,
      row.mailbox_id,
      row.run_id,
      input.key,
      row.query,
      row.status,
      row.message_id,
      row.created_at,
      row.fired_at,
      messageId ? input.now : null,
    ],
  );
  return waitOf(row);
}

/** Fires the mailbox's waits that a just-stored inbound message matches (inside its transaction). */
export async function fireWaits(tx: Transaction, message: MailMessage, now: number): Promise<MailWait[]> {
  const rows = await tx.all<WaitRow>(
    "SELECT * FROM mail_waits WHERE mailbox_id = ? AND status = 'waiting' ORDER BY id",
    [message.mailboxId],
  );
  const fired: MailWait[] = [];
  for (const row of rows) {
    if (!matchesWait(JSON.parse(row.query) as MailWaitQuery, message)) continue;
    const changed = await tx.run(
      "UPDATE mail_waits SET status = 'fired', message_id = ?, fired_at = ? WHERE id = ? AND status = 'waiting'",
      [message.id, now, row.id],
    );
    if (changed.changes === 1)
      fired.push(waitOf({ ...row, status: 'fired', message_id: message.id, fired_at: now }));
  }
  return fired;
}

export async function getWait(q: Queryable, tenant: string, id: string): Promise<MailWait> {
  const row = await q.get<WaitRow>('SELECT * FROM mail_waits WHERE tenant = ? AND id = ?', [tenant, id]);
  if (!row) throw new StrataError('E_NOT_FOUND', `no mail wait ${id}`, { wait: id });
  return waitOf(row);
}

/** Cancels a wait still waiting; a wait that fired meanwhile is returned as fired (its message wins). */
export async function cancelWait(tx: Transaction, tenant: string, id: string): Promise<MailWait> {
  await tx.run(
    "UPDATE mail_waits SET status = 'cancelled' WHERE tenant = ? AND id = ? AND status = 'waiting'",
    [tenant, id],
  );
  return getWait(tx, tenant, id);
}

/** Fired waits of runs whose signal has not been handed over yet, oldest first. */
export async function unsignalledWaits(q: Queryable, limit: number): Promise<MailWait[]> {
  const rows = await q.all<WaitRow>(
    "SELECT * FROM mail_waits WHERE status = 'fired' AND run_id IS NOT NULL AND signalled_at IS NULL ORDER BY fired_at, id LIMIT ?",
    [limit],
  );
  return rows.map(waitOf);
}

export async function markSignalled(q: Queryable, id: string, now: number): Promise<void> {
  await q.run('UPDATE mail_waits SET signalled_at = ? WHERE id = ? AND signalled_at IS NULL', [now, id]);
}
