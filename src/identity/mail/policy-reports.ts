/**
 * What mail policy recorded, for operators and agents: a mailbox's bounces (newest first), its
 * messages labelled automatic and the auto-reply storms refused per sender.
 */
import type { Queryable } from '../../kernel/index.ts';
import type { BounceKind } from './dsn.ts';

export interface Bounce {
  readonly id: string;
  /** The Strata id of the message that bounced. */
  readonly messageId: string;
  /** The Strata id of the delivery report. */
  readonly reportId: string;
  readonly recipient: string;
  readonly action: string;
  readonly status: string;
  readonly kind: BounceKind;
  readonly diagnostic: string | null;
  readonly createdAt: number;
}

export interface AutoSubmitted {
  /** The Strata id of the labelled message. */
  readonly messageId: string;
  readonly sender: string;
  readonly reason: string;
  readonly createdAt: number;
}

export interface LoopRefusals {
  readonly sender: string;
  readonly refused: number;
  readonly lastAt: number;
}

export async function listBounces(q: Queryable, mailboxId: string, limit: number): Promise<Bounce[]> {
  const rows = await q.all<{
    id: string;
    message_id: string;
    dsn_message_id: string;
    recipient: string;
    action: string;
    status: string;
    kind: BounceKind;
    diagnostic: string | null;
    created_at: number;
  }>('SELECT * FROM mail_bounces WHERE mailbox_id = ? ORDER BY id DESC LIMIT ?', [mailboxId, limit]);
  return rows.map((r) => ({
    id: r.id,
    messageId: r.message_id,
    reportId: r.dsn_message_id,
    recipient: r.recipient,
    action: r.action,
    status: r.status,
    kind: r.kind,
    diagnostic: r.diagnostic,
    createdAt: Number(r.created_at),
  }));
}

export async function listAutoSubmitted(
  q: Queryable,
  mailboxId: string,
  limit: number,
): Promise<AutoSubmitted[]> {
  const rows = await q.all<{ message_id: string; sender: string; reason: string; created_at: number }>(
    `SELECT message_id, sender, reason, created_at FROM mail_auto_submitted WHERE mailbox_id = ?
     ORDER BY message_id DESC LIMIT ?`,
    [mailboxId, limit],
  );
  return rows.map((r) => ({
    messageId: r.message_id,
    sender: r.sender,
    reason: r.reason,
    createdAt: Number(r.created_at),
  }));
}

export async function listLoopRefusals(q: Queryable, mailboxId: string): Promise<LoopRefusals[]> {
  const rows = await q.all<{ sender: string; refused: number; last_at: number }>(
    'SELECT sender, refused, last_at FROM mail_loop_refusals WHERE mailbox_id = ? ORDER BY last_at DESC LIMIT 100',
    [mailboxId],
  );
  return rows.map((r) => ({ sender: r.sender, refused: Number(r.refused), lastAt: Number(r.last_at) }));
}
