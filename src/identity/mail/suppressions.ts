/**
 * The tenant's suppression list: addresses no mailbox of the tenant may send to, because they hard
 * bounced (added by the DSN handling) or because an operator put them there. An operator removes
 * an address to allow sending again.
 */
import { StrataError, type Queryable } from '../../kernel/index.ts';
import { validateAddress } from './address.ts';

export type SuppressionReason = 'hard-bounce' | 'manual';

export interface Suppression {
  readonly address: string;
  readonly reason: SuppressionReason;
  /** The DSN status (`5.1.1`) when a bounce added it. */
  readonly status: string | null;
  readonly diagnostic: string | null;
  readonly bounceId: string | null;
  readonly createdAt: number;
}

type SuppressionRow = {
  address: string;
  reason: SuppressionReason;
  status: string | null;
  diagnostic: string | null;
  bounce_id: string | null;
  created_at: number;
};

const suppressionOf = (r: SuppressionRow): Suppression => ({
  address: r.address,
  reason: r.reason,
  status: r.status,
  diagnostic: r.diagnostic,
  bounceId: r.bounce_id,
  createdAt: Number(r.created_at),
});

/** Adds an address (a second add keeps the first record). */
export async function suppress(
  q: Queryable,
  input: {
    tenant: string;
    address: string;
    reason: SuppressionReason;
    status?: string;
    diagnostic?: string;
    bounceId?: string;
    now: number;
  },
): Promise<void> {
  await q.run(
    `INSERT INTO mail_suppressions (tenant, address, reason, status, diagnostic, bounce_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, address) DO NOTHING`,
    [
      input.tenant,
      validateAddress(input.address),
      input.reason,
      input.status ?? null,
      input.diagnostic ?? null,
      input.bounceId ?? null,
      input.now,
    ],
  );
}

/** Removes an address; false when it was not suppressed. */
export async function unsuppress(q: Queryable, tenant: string, address: string): Promise<boolean> {
  const result = await q.run('DELETE FROM mail_suppressions WHERE tenant = ? AND address = ?', [
    tenant,
    validateAddress(address),
  ]);
  return result.changes > 0;
}

export async function listSuppressions(
  q: Queryable,
  tenant: string,
  page: { limit: number; after?: string },
): Promise<Suppression[]> {
  const rows = await q.all<SuppressionRow>(
    `SELECT address, reason, status, diagnostic, bounce_id, created_at FROM mail_suppressions
     WHERE tenant = ? AND address > ? ORDER BY address LIMIT ?`,
    [tenant, page.after ?? '', page.limit],
  );
  return rows.map(suppressionOf);
}

/** Throws E_MAIL_SUPPRESSED for the first suppressed recipient. */
export async function refuseSuppressed(
  q: Queryable,
  tenant: string,
  recipients: readonly string[],
): Promise<void> {
  if (recipients.length === 0) return;
  const row = await q.get<SuppressionRow>(
    `SELECT address, reason, status, diagnostic, bounce_id, created_at FROM mail_suppressions
     WHERE tenant = ? AND address IN (${recipients.map(() => '?').join(', ')}) ORDER BY address LIMIT 1`,
    [tenant, ...recipients],
  );
  if (!row) return;
  throw new StrataError(
    'E_MAIL_SUPPRESSED',
    `${row.address} is on the suppression list (${row.reason}${row.status ? ` ${row.status}` : ''}); an operator can remove it with mail.suppressions.remove`,
    { address: row.address, reason: row.reason, status: row.status },
  );
}
