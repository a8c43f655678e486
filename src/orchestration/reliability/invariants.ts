/**
 * @module orchestration/reliability/invariants
 * The promises that must hold however many faults were injected, each checked from the rows of the
 * layer that keeps the evidence (one aggregate query each):
 *
 * - **budget never exceeded**: every hard budget period's ledger account has spent + held
 *   (`debits_posted + debits_pending`) within what it was funded with (`funded − returned`, the
 *   limit plus approved raises); soft budgets may go over by design and are reported apart;
 * - **no duplicated side effect**: no outbound mail was sent twice with one Message-ID from one
 *   mailbox (the mail's idempotency key; a retried send must not send again);
 * - **main green at every merge**: every move of main by the merge queue (`mq_advances` after the
 *   initial version) names a check that passed;
 * - the audit chain is verified by `kernel.audit.verify`, called by the syscall as its caller.
 *
 * A layer never opened on this store has no table: its invariant says `checked: false` and why,
 * instead of failing the report. Budgets and merges are checked over all history (a window could
 * hide an overdraft made earlier); mails over the report's window.
 */
import type { Store } from '../../kernel/index.ts';
import type { Invariants } from './schema.ts';

type Num = number | string | null;

async function openedLayers(store: Store): Promise<Set<string>> {
  const rows = await store.all<{ layer: string }>(
    `SELECT DISTINCT layer FROM strata_migrations WHERE layer IN ('billing', 'mail', 'mergequeue')`,
  );
  return new Set(rows.map((r) => r.layer));
}

const notOpened = (layer: string) => ({
  checked: false,
  holds: true,
  reason: `the ${layer} layer has no tables on this store`,
});

async function budget(store: Store, tenantId: string | undefined): Promise<Invariants['budget']> {
  const row = await store.get<{ periods: Num; exceeded: Num; soft_over: Num }>(
    `SELECT COUNT(*) AS periods,
       SUM(CASE WHEN b.mode <> 'soft' AND a.debits_posted + a.debits_pending > p.funded - p.returned THEN 1 ELSE 0 END) AS exceeded,
       SUM(CASE WHEN b.mode = 'soft' AND a.debits_posted + a.debits_pending > p.funded - p.returned THEN 1 ELSE 0 END) AS soft_over
     FROM bill_budget_periods p JOIN bill_budgets b ON b.id = p.budget_id JOIN bill_accounts a ON a.id = p.account_id
     ${tenantId === undefined ? '' : 'WHERE b.tenant_id = ?'}`,
    tenantId === undefined ? [] : [tenantId],
  );
  const exceeded = Number(row?.exceeded ?? 0);
  return {
    checked: true,
    holds: exceeded === 0,
    periods: Number(row?.periods ?? 0),
    exceeded,
    softOver: Number(row?.soft_over ?? 0),
  };
}

async function mails(
  store: Store,
  tenantId: string | undefined,
  sinceMs: number | undefined,
): Promise<Invariants['duplicatedSideEffects']> {
  const where = [`direction = 'out'`, `status = 'sent'`];
  const params: (string | number)[] = [];
  if (tenantId !== undefined) {
    where.push('tenant = ?');
    params.push(tenantId);
  }
  if (sinceMs !== undefined) {
    where.push('COALESCE(sent_at, received_at) >= ?');
    params.push(sinceMs);
  }
  const row = await store.get<{ mails: Num; distinct_ids: Num }>(
    `SELECT COUNT(*) AS mails, COUNT(DISTINCT mailbox_id || ' ' || message_id) AS distinct_ids
     FROM mail_messages WHERE ${where.join(' AND ')}`,
    params,
  );
  const checkedMails = Number(row?.mails ?? 0);
  const duplicates = checkedMails - Number(row?.distinct_ids ?? 0);
  return { checked: true, holds: duplicates === 0, checkedMails, duplicates };
}

async function mainGreen(store: Store, tenantId: string | undefined): Promise<Invariants['mainGreen']> {
  const row = await store.get<{ merges: Num; not_green: Num }>(
    `SELECT COUNT(*) AS merges, SUM(CASE WHEN c.outcome = 'pass' THEN 0 ELSE 1 END) AS not_green
     FROM mq_advances v LEFT JOIN mq_checks c ON c.tenant_id = v.tenant_id AND c.id = v.check_id
     WHERE v.version > 0${tenantId === undefined ? '' : ' AND v.tenant_id = ?'}`,
    tenantId === undefined ? [] : [tenantId],
  );
  const notGreen = Number(row?.not_green ?? 0);
  return { checked: true, holds: notGreen === 0, merges: Number(row?.merges ?? 0), notGreen };
}

export type AuditChainCheck = Invariants['auditChain'];

export async function invariants(
  store: Store,
  tenantId: string | undefined,
  sinceMs: number | undefined,
  auditChain: AuditChainCheck,
): Promise<Invariants> {
  const opened = await openedLayers(store);
  const [b, m, g] = await Promise.all([
    opened.has('billing')
      ? budget(store, tenantId)
      : { ...notOpened('billing'), periods: 0, exceeded: 0, softOver: 0 },
    opened.has('mail')
      ? mails(store, tenantId, sinceMs)
      : { ...notOpened('mail'), checkedMails: 0, duplicates: 0 },
    opened.has('mergequeue')
      ? mainGreen(store, tenantId)
      : { ...notOpened('mergequeue'), merges: 0, notGreen: 0 },
  ]);
  return {
    budget: b,
    duplicatedSideEffects: m,
    auditChain,
    mainGreen: g,
    allHold: b.holds && m.holds && g.holds && auditChain.holds,
  };
}
