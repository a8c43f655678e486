/**
 * Rows of `mail_drafts` in and out. Every status change is a conditional UPDATE naming the statuses
 * it may leave (`claim`): the row lock PostgreSQL takes re-checks the condition after a concurrent
 * writer commits, and SQLite has one writer, so of two racing callers exactly one sees `changes = 1`.
 */
import type { Queryable, SqlValue } from '../../kernel/index.ts';

export type DraftStatus =
  'draft' | 'scheduled' | 'pending_approval' | 'sending' | 'sent' | 'failed' | 'rejected';

export interface Draft {
  readonly id: string;
  readonly tenant: string;
  readonly mailboxId: string;
  readonly status: DraftStatus;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  /** A Strata message id (`msg_…`) in the same mailbox this replies to. */
  readonly inReplyTo: string | null;
  /** When a scheduled draft is due (epoch ms). */
  readonly sendAt: number | null;
  /** The Strata id of the message sent from it (also set when the relay refused it). */
  readonly messageId: string | null;
  /** Why the last send failed. */
  readonly error: string | null;
  /** Why an approver rejected it. */
  readonly reason: string | null;
  /** The principal whose `mail.send` was held for approval. */
  readonly requestedBy: string | null;
  /** The durable run that asked, signalled `draft:<id>` when the draft is settled. */
  readonly runId: string | null;
  /** The principal who approved or rejected it. */
  readonly decidedBy: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly sentAt: number | null;
}

type DraftRow = {
  id: string;
  tenant: string;
  mailbox_id: string;
  status: DraftStatus;
  to_addrs: string;
  subject: string;
  text_body: string;
  in_reply_to: string | null;
  send_at: number | null;
  message_id: string | null;
  error: string | null;
  reason: string | null;
  requested_by: string | null;
  run_id: string | null;
  decided_by: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
};

const draftOf = (r: DraftRow): Draft => ({
  id: r.id,
  tenant: r.tenant,
  mailboxId: r.mailbox_id,
  status: r.status,
  to: JSON.parse(r.to_addrs) as string[],
  subject: r.subject,
  text: r.text_body,
  inReplyTo: r.in_reply_to,
  sendAt: r.send_at,
  messageId: r.message_id,
  error: r.error,
  reason: r.reason,
  requestedBy: r.requested_by,
  runId: r.run_id,
  decidedBy: r.decided_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  sentAt: r.sent_at,
});

export async function insertDraft(q: Queryable, d: Draft): Promise<void> {
  await q.run(
    `INSERT INTO mail_drafts (id, tenant, mailbox_id, status, to_addrs, subject, text_body, in_reply_to, send_at,
       message_id, error, reason, requested_by, run_id, decided_by, created_at, updated_at, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      d.id,
      d.tenant,
      d.mailboxId,
      d.status,
      JSON.stringify(d.to),
      d.subject,
      d.text,
      d.inReplyTo,
      d.sendAt,
      d.messageId,
      d.error,
      d.reason,
      d.requestedBy,
      d.runId,
      d.decidedBy,
      d.createdAt,
      d.updatedAt,
      d.sentAt,
    ],
  );
}

export async function findDraft(q: Queryable, tenant: string, id: string): Promise<Draft | undefined> {
  const row = await q.get<DraftRow>('SELECT * FROM mail_drafts WHERE tenant = ? AND id = ?', [tenant, id]);
  return row ? draftOf(row) : undefined;
}

export async function listDrafts(
  q: Queryable,
  query: { tenant: string; mailboxId: string; status?: DraftStatus; limit: number; before?: string },
): Promise<Draft[]> {
  const where = ['tenant = ?', 'mailbox_id = ?'];
  const params: SqlValue[] = [query.tenant, query.mailboxId];
  if (query.status) {
    where.push('status = ?');
    params.push(query.status);
  }
  if (query.before) {
    where.push('id < ?');
    params.push(query.before);
  }
  const rows = await q.all<DraftRow>(
    `SELECT * FROM mail_drafts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    [...params, query.limit],
  );
  return rows.map(draftOf);
}

/** Column changes a transition writes, by column name. */
export type DraftChanges = Partial<Record<keyof DraftRow, SqlValue>>;

/**
 * Moves a draft out of one of the `from` statuses, writing `changes`; true when this caller won.
 * `extra` adds a condition (e.g. `send_at <= ?`) with its parameters.
 */
export async function claim(
  q: Queryable,
  target: { tenant: string; id: string; from: readonly DraftStatus[] },
  changes: DraftChanges,
  extra?: { sql: string; params: readonly SqlValue[] },
): Promise<boolean> {
  const columns = Object.keys(changes);
  const result = await q.run(
    `UPDATE mail_drafts SET ${columns.map((c) => `${c} = ?`).join(', ')}
     WHERE tenant = ? AND id = ? AND status IN (${target.from.map(() => '?').join(', ')})${extra ? ` AND ${extra.sql}` : ''}`,
    [
      ...columns.map((c) => changes[c as keyof DraftRow] ?? null),
      target.tenant,
      target.id,
      ...target.from,
      ...(extra?.params ?? []),
    ],
  );
  return result.changes === 1;
}

/** Scheduled drafts due at `now`, oldest due first (candidates: each is then claimed). */
export async function dueDrafts(
  q: Queryable,
  now: number,
  limit: number,
): Promise<{ id: string; tenant: string }[]> {
  return q.all<{ id: string; tenant: string }>(
    "SELECT id, tenant FROM mail_drafts WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at, id LIMIT ?",
    [now, limit],
  );
}

export async function deleteDraft(q: Queryable, tenant: string, id: string): Promise<boolean> {
  const result = await q.run("DELETE FROM mail_drafts WHERE tenant = ? AND id = ? AND status <> 'sending'", [
    tenant,
    id,
  ]);
  return result.changes === 1;
}
