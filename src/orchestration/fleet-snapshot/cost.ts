/**
 * @module orchestration/fleet-snapshot/cost
 * Cost burn against budgets for a fleet snapshot, read from the billing tables (orchestration may
 * depend on billing, not the reverse) with cheap queries only:
 * - burn: what the tenant's usage accounts were charged in the last minute (posted transfers only:
 *   a reservation's pending hold and its later posting would otherwise count twice), on the
 *   (credit account, created_at) index;
 * - budgets: the current period of each tenant, project, agent and kind budget, at most 20, with
 *   spent and held as `Budgets#status` computes them (period account debits minus returns), in one
 *   query instead of one per budget. Run and tree budgets (one per agent run) are left out.
 * Null where the billing layer was never opened on this store.
 */
import type { Store } from '../../kernel/index.ts';
import { formatMicros, periodOf } from '../../provisioning/index.ts';
import { SNAPSHOT_WINDOW_MS, TOP_BUDGETS, type FleetSnapshot } from './types.ts';

type BudgetRow = {
  id: string;
  scope: string;
  subject: string;
  period: string;
  mode: string;
  currency: string;
  limit_micros: number | string;
  debits_posted: number | string | null;
  debits_pending: number | string | null;
  returned: number | string | null;
};

const big = (v: number | string | null): bigint => BigInt(v ?? 0);

export async function costBurn(store: Store, tenantId: string, now: number): Promise<FleetSnapshot['cost']> {
  const billing = await store.get('SELECT 1 AS present FROM strata_migrations WHERE layer = ? LIMIT 1', [
    'billing',
  ]);
  if (billing === undefined) return null;

  const burn = await store.all<{ currency: string; micros: number | string | null }>(
    `SELECT a.currency, SUM(t.amount) AS micros FROM bill_accounts a
     JOIN bill_transfers t ON t.credit_account_id = a.id AND t.created_at >= ? AND t.kind IN ('posted', 'post_pending')
     WHERE a.tenant_id = ? AND a.kind = 'usage' GROUP BY a.currency ORDER BY a.currency`,
    [now - SNAPSHOT_WINDOW_MS, tenantId],
  );
  const key = (period: 'day' | 'week' | 'month'): string => periodOf(period, now).key;
  const rows = await store.all<BudgetRow>(
    `SELECT b.id, b.scope, b.subject, b.period, b.mode, b.currency, b.limit_micros,
       a.debits_posted, a.debits_pending, p.returned
     FROM bill_budgets b
     LEFT JOIN bill_budget_periods p ON p.budget_id = b.id
       AND p.period_key = CASE b.period WHEN 'day' THEN ? WHEN 'week' THEN ? WHEN 'month' THEN ? ELSE 'lifetime' END
     LEFT JOIN bill_accounts a ON a.id = p.account_id
     WHERE b.tenant_id = ? AND b.scope NOT IN ('run', 'tree')
     ORDER BY CASE b.scope WHEN 'tenant' THEN 0 WHEN 'project' THEN 1 WHEN 'agent' THEN 2 ELSE 3 END,
       b.subject, b.period, b.id
     LIMIT ?`,
    [key('day'), key('week'), key('month'), tenantId, TOP_BUDGETS],
  );
  const all = await store.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM bill_budgets WHERE tenant_id = ?',
    [tenantId],
  );
  return {
    burn: burn.map((b) => ({
      currency: b.currency,
      lastMinute: formatMicros(big(b.micros), b.currency),
      lastMinuteMicros: Number(b.micros ?? 0),
    })),
    budgets: rows.map((r) => {
      const limit = big(r.limit_micros);
      const spent = big(r.debits_posted) - big(r.returned);
      return {
        id: r.id,
        scope: r.scope,
        subject: r.subject,
        period: r.period,
        mode: r.mode,
        currency: r.currency,
        limit: formatMicros(limit, r.currency),
        spent: formatMicros(spent, r.currency),
        held: formatMicros(big(r.debits_pending), r.currency),
        usedPct: limit > 0n ? Number((spent * 10_000n) / limit) / 100 : null,
      };
    }),
    omitted: Number(all?.n ?? 0) - rows.length,
  };
}
