/**
 * Send caps: at most `limit` outbound messages per mailbox in any sliding window of `windowMs`,
 * counted from the messages actually stored (direction `out`, status not `failed`, so a send the
 * relay refused gives its slot back). A mailbox's own cap wins over the tenant's default; without
 * either there is no cap.
 *
 * Exactness: the count runs twice. Before composing (cheap, unlocked) and again inside the
 * transaction that stores the message, after locking the mailbox row (`SELECT … FOR UPDATE` on
 * PostgreSQL; SQLite write transactions are already exclusive). Two concurrent sends at the cap
 * therefore serialise on that lock and the second one counts the first's row: one passes, the
 * other rolls back with nothing stored. (Threading already takes the same lock when it stores the
 * row; taking it here again costs nothing and keeps the cap exact whatever threading does.)
 */
import { forUpdate, StrataError, type Queryable } from '../../kernel/index.ts';
import { TENANT_DEFAULT } from './policy-migrations.ts';

export interface SendCap {
  readonly limit: number;
  readonly windowMs: number;
}

export interface EffectiveCap extends SendCap {
  readonly source: 'mailbox' | 'tenant';
}

/** Windows longer than this are refused (a cap is about bursts, not quotas). */
export const MAX_CAP_WINDOW_MS = 31 * 24 * 3600 * 1000;

export function validateCap(cap: SendCap): SendCap {
  const issues: { path: string[]; message: string }[] = [];
  if (!Number.isSafeInteger(cap.limit) || cap.limit < 0) {
    issues.push({ path: ['limit'], message: 'a whole number, 0 or more' });
  }
  if (!Number.isSafeInteger(cap.windowMs) || cap.windowMs < 1000 || cap.windowMs > MAX_CAP_WINDOW_MS) {
    issues.push({ path: ['windowMs'], message: `a whole number of ms from 1000 to ${MAX_CAP_WINDOW_MS}` });
  }
  if (issues.length > 0) throw new StrataError('E_INVALID_INPUT', 'invalid send cap', { issues });
  return cap;
}

/** Sets (or, with `cap` null, removes) a mailbox's cap, or the tenant default when mailboxId is `*`. */
export async function setCap(
  q: Queryable,
  input: { tenant: string; mailboxId: string; cap: SendCap | null; now: number },
): Promise<void> {
  if (input.cap === null) {
    await q.run('DELETE FROM mail_send_caps WHERE tenant = ? AND mailbox_id = ?', [
      input.tenant,
      input.mailboxId,
    ]);
    return;
  }
  const cap = validateCap(input.cap);
  await q.run(
    `INSERT INTO mail_send_caps (tenant, mailbox_id, max_messages, window_ms, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant, mailbox_id) DO UPDATE SET max_messages = excluded.max_messages,
       window_ms = excluded.window_ms, updated_at = excluded.updated_at`,
    [input.tenant, input.mailboxId, cap.limit, cap.windowMs, input.now],
  );
}

/** The cap that applies to a mailbox, if any. */
export async function effectiveCap(
  q: Queryable,
  tenant: string,
  mailboxId: string,
): Promise<EffectiveCap | undefined> {
  const rows = await q.all<{ mailbox_id: string; max_messages: number; window_ms: number }>(
    'SELECT mailbox_id, max_messages, window_ms FROM mail_send_caps WHERE tenant = ? AND mailbox_id IN (?, ?)',
    [tenant, mailboxId, TENANT_DEFAULT],
  );
  const row = rows.find((r) => r.mailbox_id === mailboxId) ?? rows[0];
  if (!row) return undefined;
  return {
    limit: Number(row.max_messages),
    windowMs: Number(row.window_ms),
    source: row.mailbox_id === TENANT_DEFAULT ? 'tenant' : 'mailbox',
  };
}

/** Outbound messages counting against the cap since `since`, leaving out `except` (the one being stored). */
export async function countSent(
  q: Queryable,
  mailboxId: string,
  since: number,
  except = '',
): Promise<number> {
  const row = await q.get<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM mail_messages
     WHERE mailbox_id = ? AND direction = 'out' AND status <> 'failed' AND received_at > ? AND id <> ?`,
    [mailboxId, since, except],
  );
  return Number(row?.n ?? 0);
}

/**
 * Throws E_MAIL_SEND_CAP when the mailbox already has `limit` messages in the window. `except` is
 * the message being stored in this transaction; `lock` takes the mailbox row first (see above).
 */
export async function enforceCap(
  q: Queryable,
  input: { tenant: string; mailboxId: string; now: number; except?: string; lock?: boolean },
): Promise<void> {
  const cap = await effectiveCap(q, input.tenant, input.mailboxId);
  if (!cap) return;
  if (input.lock) await q.get(`SELECT id FROM mail_mailboxes WHERE id = ?${forUpdate(q)}`, [input.mailboxId]);
  const since = input.now - cap.windowMs;
  const sent = await countSent(q, input.mailboxId, since, input.except);
  if (sent < cap.limit) return;
  // The window frees a slot when the (sent - limit + 1)-th oldest counted message ages out of it.
  const freeing = await q.get<{ received_at: number }>(
    `SELECT received_at FROM mail_messages
     WHERE mailbox_id = ? AND direction = 'out' AND status <> 'failed' AND received_at > ? AND id <> ?
     ORDER BY received_at LIMIT 1 OFFSET ?`,
    [input.mailboxId, since, input.except ?? '', sent - cap.limit],
  );
  const retryAfterMs = freeing
    ? Math.max(1, Number(freeing.received_at) + cap.windowMs - input.now)
    : cap.windowMs;
  throw new StrataError(
    'E_MAIL_SEND_CAP',
    `the mailbox sent ${sent} messages in the last ${cap.windowMs} ms (cap ${cap.limit}); retry in ${retryAfterMs} ms`,
    { limit: cap.limit, windowMs: cap.windowMs, retryAfterMs, source: cap.source },
  );
}
