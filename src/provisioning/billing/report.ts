/**
 * @module provisioning/billing/report
 * A tenant's billing report for one UTC month: the invoice (lines, totals, unpriced usage), usage
 * by meter, what of it is already posted, the trial balance (exactly 0 per currency), budget
 * headroom (each budget's current period, as `Budgets.list` gives it), live holds (pending
 * transfers; `overdue` once past their timeout and awaiting the reaper), and — when the callers
 * plug them in — resources and spend tokens. `reportJson` is its wire form: amounts as decimal
 * strings, times as ISO 8601.
 */
import { z } from 'zod';
import type { BudgetStatus } from './budgets.ts';
import type { Transfer, TrialBalanceLine } from './ledger.ts';
import { formatMicros, toBig } from './money.ts';
import {
  invoiceTransferId,
  parsePeriod,
  type BillingPeriod,
  type Invoice,
  type Rating,
  type UsageLine,
} from './rating.ts';

export interface ResourceSummary {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly state: string;
}

/** A spend token as the report shows it; amounts are decimal strings in its currency. */
export interface SpendTokenSummary {
  readonly id: string;
  readonly status: string;
  readonly currency: string;
  readonly maxAmount: string;
  readonly reserved: string;
  readonly captured: string;
  readonly expiresAt: number | null;
  readonly deactivatedReason?: string;
}

/** Optional sections supplied by other parts of the layer (the provisioner, spend tokens). */
export interface BillingReportExtras {
  readonly resources?: () => Promise<readonly ResourceSummary[]>;
  readonly spendTokens?: () => Promise<readonly SpendTokenSummary[]>;
}

export interface HoldSummary {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly timeoutAt: number | null;
  readonly reservationId: string | null;
  readonly overdue: boolean;
}

export interface BillingReport {
  readonly tenantId: string;
  readonly period: BillingPeriod;
  readonly generatedAt: number;
  readonly invoice: Invoice;
  readonly usage: readonly UsageLine[];
  /** Ledger transfers already posted for this period's lines. */
  readonly posted: readonly Transfer[];
  readonly trialBalance: readonly TrialBalanceLine[];
  readonly budgets: readonly BudgetStatus[];
  readonly holds: readonly HoldSummary[];
  readonly resources?: readonly ResourceSummary[];
  readonly spendTokens?: readonly SpendTokenSummary[];
}

type PendingRow = {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  currency: string;
  timeout_at: number | null;
  reservation_id: string | null;
};

/** Builds the report of `tenantId` for `period` (`YYYY-MM`). */
export async function billingReport(
  rating: Rating,
  tenantId: string,
  period: string,
  extras: BillingReportExtras = {},
): Promise<BillingReport> {
  const window = parsePeriod(period);
  const { ledger, budgets } = rating.billing;
  const now = ledger.clock.now();
  const invoice = await rating.rate(tenantId, window);
  const posted: Transfer[] = [];
  for (const line of invoice.lines) {
    const transfer = await ledger.getTransfer(tenantId, invoiceTransferId(tenantId, window.key, line));
    if (transfer) posted.push(transfer);
  }
  const pending = await ledger.store.all<PendingRow>(
    `SELECT id, debit_account_id, credit_account_id, amount, currency, timeout_at, reservation_id
     FROM bill_pending WHERE tenant_id = ? AND status = 'pending' ORDER BY id`,
    [tenantId],
  );
  return {
    tenantId,
    period: window,
    generatedAt: now,
    invoice,
    usage: invoice.usage,
    posted,
    trialBalance: await ledger.trialBalance(tenantId),
    budgets: await budgets.list(tenantId),
    holds: pending.map((row) => ({
      id: row.id,
      debitAccountId: row.debit_account_id,
      creditAccountId: row.credit_account_id,
      amount: toBig(row.amount),
      currency: row.currency,
      timeoutAt: row.timeout_at === null ? null : Number(row.timeout_at),
      reservationId: row.reservation_id,
      overdue: row.timeout_at !== null && Number(row.timeout_at) <= now,
    })),
    ...(extras.resources ? { resources: [...(await extras.resources())] } : {}),
    ...(extras.spendTokens ? { spendTokens: [...(await extras.spendTokens())] } : {}),
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

const usageSchema = z.object({
  meter: z.string(),
  aggregation: z.string(),
  unit: z.string(),
  quantity: z.string(),
  events: z.number(),
});

export const invoiceSchema = z.object({
  from: z.string(),
  to: z.string(),
  lines: z.array(
    z.object({
      meter: z.string(),
      currency: z.string(),
      unit: z.string(),
      quantity: z.string(),
      segments: z.array(
        z.object({
          priceId: z.string(),
          version: z.number(),
          scope: z.enum(['tenant', 'global']),
          from: z.string(),
          to: z.string(),
          quantity: z.string(),
          amount: z.string(),
        }),
      ),
      subtotal: z.string(),
      minimum: z.string().optional(),
      minimumApplied: z.boolean(),
      amount: z.string(),
    }),
  ),
  totals: z.array(z.object({ currency: z.string(), amount: z.string() })),
  unpriced: z.array(
    z.object({
      meter: z.string(),
      unit: z.string(),
      from: z.string(),
      to: z.string(),
      quantity: z.string(),
      events: z.number(),
    }),
  ),
  usage: z.array(usageSchema),
});

export type InvoiceJson = z.infer<typeof invoiceSchema>;

/** The invoice's wire form. */
export function invoiceJson(invoice: Invoice): InvoiceJson {
  return {
    from: iso(invoice.from),
    to: iso(invoice.to),
    lines: invoice.lines.map((line) => ({
      ...line,
      segments: line.segments.map((s) => ({ ...s, from: iso(s.from), to: iso(s.to) })),
      amount: formatMicros(line.amount, line.currency),
    })),
    totals: invoice.totals.map((t) => ({ currency: t.currency, amount: formatMicros(t.amount, t.currency) })),
    unpriced: invoice.unpriced.map((u) => ({ ...u, from: iso(u.from), to: iso(u.to) })),
    usage: [...invoice.usage],
  };
}

export const reportSchema = z.object({
  period: z.object({ key: z.string(), from: z.string(), to: z.string() }),
  generatedAt: z.string(),
  invoice: invoiceSchema,
  usage: z.array(usageSchema),
  posted: z.array(
    z.object({ id: z.string(), amount: z.string(), currency: z.string(), createdAt: z.string() }),
  ),
  trialBalance: z.array(
    z.object({
      currency: z.string(),
      debits: z.string(),
      credits: z.string(),
      pending: z.string(),
      difference: z.string(),
    }),
  ),
  budgets: z.array(
    z.object({
      id: z.string(),
      scope: z.string(),
      subject: z.string(),
      period: z.string(),
      periodKey: z.string(),
      mode: z.string(),
      currency: z.string(),
      limit: z.string(),
      spent: z.string(),
      held: z.string(),
      available: z.string(),
    }),
  ),
  holds: z.array(
    z.object({
      id: z.string(),
      debitAccountId: z.string(),
      creditAccountId: z.string(),
      amount: z.string(),
      currency: z.string(),
      timeoutAt: z.string().nullable(),
      reservationId: z.string().nullable(),
      overdue: z.boolean(),
    }),
  ),
  resources: z
    .array(z.object({ id: z.string(), kind: z.string(), name: z.string(), state: z.string() }))
    .optional(),
  spendTokens: z
    .array(
      z.object({
        id: z.string(),
        status: z.string(),
        currency: z.string(),
        maxAmount: z.string(),
        reserved: z.string(),
        captured: z.string(),
        expiresAt: z.string().nullable(),
        deactivatedReason: z.string().optional(),
      }),
    )
    .optional(),
});

export type BillingReportJson = z.infer<typeof reportSchema>;

/** The report's wire form. */
export function reportJson(report: BillingReport): BillingReportJson {
  const money = (micros: bigint, currency: string): string => formatMicros(micros, currency);
  return {
    period: { key: report.period.key, from: iso(report.period.from), to: iso(report.period.to) },
    generatedAt: iso(report.generatedAt),
    invoice: invoiceJson(report.invoice),
    usage: [...report.usage],
    posted: report.posted.map((t) => ({
      id: t.id,
      amount: money(t.amount, t.currency),
      currency: t.currency,
      createdAt: iso(t.createdAt),
    })),
    trialBalance: report.trialBalance.map((line) => ({
      currency: line.currency,
      debits: money(line.debitsPosted, line.currency),
      credits: money(line.creditsPosted, line.currency),
      pending: money(line.debitsPending, line.currency),
      difference: money(line.difference, line.currency),
    })),
    budgets: report.budgets.map((b) => ({
      id: b.id,
      scope: b.scope,
      subject: b.subject,
      period: b.period,
      periodKey: b.periodKey,
      mode: b.mode,
      currency: b.currency,
      limit: money(b.limit, b.currency),
      spent: money(b.spent, b.currency),
      held: money(b.held, b.currency),
      available: money(b.available, b.currency),
    })),
    holds: report.holds.map((h) => ({
      ...h,
      amount: money(h.amount, h.currency),
      timeoutAt: h.timeoutAt === null ? null : iso(h.timeoutAt),
    })),
    ...(report.resources ? { resources: [...report.resources] } : {}),
    ...(report.spendTokens
      ? {
          spendTokens: report.spendTokens.map((t) => ({
            ...t,
            expiresAt: t.expiresAt === null ? null : iso(t.expiresAt),
          })),
        }
      : {}),
  };
}
