/**
 * @module provisioning/billing/syscalls
 * `billing.*` syscalls: budgets (set, get, list, remove), the ledger (accounts, balance, transfers,
 * trial balance) and meters (define, list, ingest, aggregate). The tenant always comes from the
 * caller's principal. Amounts travel as decimal strings in the budget's currency, never as numbers.
 * Resources: `billing/budgets/<scope>[/<subject>]`, `billing/ledger[/<accountId>]`,
 * `billing/meters/<type>`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Billing } from './billing.ts';
import type { BudgetStatus } from './budgets.ts';
import type { Account, Transfer } from './ledger.ts';
import { AGGREGATIONS } from './meter.ts';
import { formatMicros, parseMoney } from './money.ts';

const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');
const amount = z.string().min(1).max(40).describe('decimal string, e.g. "5.00"');
const text = z.string().min(1).max(200);
const scope = z.enum(['tenant', 'project', 'agent', 'run', 'tree', 'kind']);
const period = z.enum(['day', 'week', 'month', 'lifetime']);

const budgetSchema = z.object({
  id: z.string(),
  scope,
  subject: z.string(),
  period,
  currency: z.string(),
  limit: z.string(),
  mode: z.enum(['hard', 'soft']),
  thresholds: z.array(z.number()),
  periodKey: z.string(),
  periodStart: z.string().nullable(),
  periodEnd: z.string().nullable(),
  spent: z.string(),
  held: z.string(),
  available: z.string(),
  alerts: z.array(z.object({ threshold: z.number(), spent: z.string(), firedAt: z.string() })),
});

const accountSchema = z.object({
  id: z.string(),
  kind: z.string(),
  currency: z.string(),
  flags: z.string(),
  debitsPending: z.string(),
  debitsPosted: z.string(),
  creditsPending: z.string(),
  creditsPosted: z.string(),
  balance: z.string(),
  available: z.string(),
});

const transferSchema = z.object({
  id: z.string(),
  kind: z.string(),
  debitAccountId: z.string(),
  creditAccountId: z.string(),
  amount: z.string(),
  currency: z.string(),
  pendingId: z.string().optional(),
  timeoutAt: z.string().optional(),
  reservationId: z.string().optional(),
  memo: z.string().optional(),
  createdAt: z.string(),
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function budgetOut(b: BudgetStatus): z.infer<typeof budgetSchema> {
  const f = (v: bigint): string => formatMicros(v, b.currency);
  return {
    id: b.id,
    scope: b.scope,
    subject: b.subject,
    period: b.period,
    currency: b.currency,
    limit: f(b.limit),
    mode: b.mode,
    thresholds: [...b.thresholds],
    periodKey: b.periodKey,
    periodStart: iso(b.periodStart),
    periodEnd: iso(b.periodEnd),
    spent: f(b.spent),
    held: f(b.held),
    available: f(b.available),
    alerts: b.alerts.map((a) => ({
      threshold: a.threshold,
      spent: f(a.spent),
      firedAt: iso(a.firedAt) ?? '',
    })),
  };
}

export function accountOut(a: Account): z.infer<typeof accountSchema> {
  const f = (v: bigint): string => formatMicros(v, a.currency);
  return {
    id: a.id,
    kind: a.kind,
    currency: a.currency,
    flags: a.flags,
    debitsPending: f(a.debitsPending),
    debitsPosted: f(a.debitsPosted),
    creditsPending: f(a.creditsPending),
    creditsPosted: f(a.creditsPosted),
    balance: f(a.creditsPosted - a.debitsPosted),
    available: f(a.creditsPosted - a.debitsPosted - a.debitsPending),
  };
}

function transferOut(t: Transfer): z.infer<typeof transferSchema> {
  return {
    id: t.id,
    kind: t.kind,
    debitAccountId: t.debitAccountId,
    creditAccountId: t.creditAccountId,
    amount: formatMicros(t.amount, t.currency),
    currency: t.currency,
    ...(t.pendingId ? { pendingId: t.pendingId } : {}),
    ...(t.timeoutAt === undefined ? {} : { timeoutAt: new Date(t.timeoutAt).toISOString() }),
    ...(t.reservationId ? { reservationId: t.reservationId } : {}),
    ...(t.memo ? { memo: t.memo } : {}),
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

const eventSchema = z
  .object({
    id: text,
    type: text,
    subject: text,
    resourceId: text,
    quantity: z.string().min(1).max(40),
    unit: z.string().min(1).max(50),
    time: z.union([z.number().int(), z.iso.datetime()]),
  })
  .strict();

const timeOf = (t: number | string): number => (typeof t === 'number' ? t : Date.parse(t));

export function billingSyscalls(billing: Billing): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'billing.budgets.set',
        description:
          'Creates or changes a budget (tenant, agent, run or resource kind; day/week/month UTC or lifetime; hard or soft; alert thresholds in %).',
        input: z
          .object({
            scope,
            subject: z.string().max(200).optional(),
            period,
            limit: amount,
            currency: currency.default(billing.currency),
            mode: z.enum(['hard', 'soft']).default('hard'),
            thresholds: z.array(z.number().int().min(1).max(1000)).max(10).default([]),
          })
          .strict(),
        output: budgetSchema,
        idempotency: 'idempotent',
        resource: (input) => `billing/budgets/${input.scope}${input.subject ? `/${input.subject}` : ''}`,
        handler: async (input, ctx) =>
          budgetOut(
            await billing.budgets.set({
              tenantId: ctx.tenantId,
              scope: input.scope,
              subject: input.subject,
              period: input.period,
              currency: input.currency,
              limit: parseMoney(input.limit, input.currency).micros,
              mode: input.mode,
              thresholds: input.thresholds,
            }),
          ),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.budgets.get',
        description:
          'One budget with the current period’s spent, held and available amounts and fired alerts.',
        input: z.object({ id: text }).strict(),
        output: budgetSchema,
        idempotency: 'pure',
        resource: (input) => `billing/budgets/${input.id}`,
        handler: async (input, ctx) => budgetOut(await billing.budgets.get(ctx.tenantId, input.id)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.budgets.list',
        description: 'Every budget of the caller’s tenant with its current period’s headroom.',
        input: z.object({}).strict(),
        output: z.object({ budgets: z.array(budgetSchema) }),
        idempotency: 'pure',
        resource: () => 'billing/budgets',
        handler: async (_input, ctx) => ({
          budgets: (await billing.budgets.list(ctx.tenantId)).map(budgetOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.budgets.remove',
        description: 'Removes a budget (its ledger history stays).',
        input: z.object({ id: text }).strict(),
        output: z.object({ removed: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `billing/budgets/${input.id}`,
        handler: async (input, ctx) => {
          await billing.budgets.remove(ctx.tenantId, input.id);
          return { removed: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.ledger.accounts',
        description: 'The tenant’s ledger accounts with their posted and pending totals.',
        input: z.object({ kind: z.string().max(50).optional() }).strict(),
        output: z.object({ accounts: z.array(accountSchema) }),
        idempotency: 'pure',
        resource: () => 'billing/ledger',
        handler: async (input, ctx) => ({
          accounts: (await billing.ledger.listAccounts(ctx.tenantId, input.kind)).map(accountOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.ledger.balance',
        description:
          'One account’s balance (posted credits minus debits) and what is still available (pending counted).',
        input: z.object({ accountId: text }).strict(),
        output: accountSchema,
        idempotency: 'pure',
        resource: (input) => `billing/ledger/${input.accountId}`,
        handler: async (input, ctx) =>
          accountOut(await billing.ledger.getAccount(ctx.tenantId, input.accountId)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.ledger.transfers',
        description:
          'The tenant’s ledger transfers, newest id first, optionally of one account; `before` pages.',
        input: z
          .object({
            accountId: text.optional(),
            limit: z.number().int().min(1).max(1000).default(100),
            before: text.optional(),
          })
          .strict(),
        output: z.object({ transfers: z.array(transferSchema) }),
        idempotency: 'pure',
        resource: (input) => (input.accountId ? `billing/ledger/${input.accountId}` : 'billing/ledger'),
        handler: async (input, ctx) => ({
          transfers: (await billing.ledger.listTransfers(ctx.tenantId, input)).map(transferOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.ledger.trial_balance',
        description:
          'Posted debits and credits per currency over the tenant’s accounts; the difference is always 0.',
        input: z.object({}).strict(),
        output: z.object({
          currencies: z.array(
            z.object({
              currency: z.string(),
              debits: z.string(),
              credits: z.string(),
              pending: z.string(),
              difference: z.string(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: () => 'billing/ledger',
        handler: async (_input, ctx) => ({
          currencies: (await billing.ledger.trialBalance(ctx.tenantId)).map((line) => ({
            currency: line.currency,
            debits: formatMicros(line.debitsPosted, line.currency),
            credits: formatMicros(line.creditsPosted, line.currency),
            pending: formatMicros(line.debitsPending, line.currency),
            difference: formatMicros(line.difference, line.currency),
          })),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.meters.define',
        description: 'Defines (or redescribes) a meter type with its unit and default aggregation.',
        input: z
          .object({
            type: z.string().min(1).max(100),
            unit: z.string().min(1).max(50),
            aggregation: z.enum(AGGREGATIONS).default('sum'),
            description: z.string().max(500).default(''),
          })
          .strict(),
        output: z.object({
          type: z.string(),
          unit: z.string(),
          aggregation: z.string(),
          description: z.string(),
        }),
        idempotency: 'idempotent',
        resource: (input) => `billing/meters/${input.type}`,
        handler: (input, ctx) => billing.meters.define(ctx.tenantId, input),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.meters.list',
        description: 'The meter types of the caller’s tenant, built-ins included.',
        input: z.object({}).strict(),
        output: z.object({
          meters: z.array(
            z.object({
              type: z.string(),
              unit: z.string(),
              aggregation: z.string(),
              description: z.string(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: () => 'billing/meters',
        handler: async (_input, ctx) => ({ meters: await billing.meters.list(ctx.tenantId) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.meters.ingest',
        description:
          'Records meter events (all or none). A repeated id with the same payload is a duplicate (no-op); with another payload E_CONFLICT.',
        input: z.object({ events: z.array(eventSchema).min(1).max(1000) }).strict(),
        output: z.object({ accepted: z.number(), duplicates: z.number() }),
        idempotency: 'idempotent',
        resource: (input) => `billing/meters/${input.events[0]?.type ?? ''}`,
        handler: (input, ctx) =>
          billing.meters.ingest(
            ctx.tenantId,
            input.events.map((e) => ({ ...e, time: timeOf(e.time) })),
          ),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.meters.aggregate',
        description:
          'Aggregates a meter over [from, to): sum, count, max, latest, unique_count or time_weighted (unit·seconds).',
        input: z
          .object({
            type: text,
            from: z.union([z.number().int(), z.iso.datetime()]),
            to: z.union([z.number().int(), z.iso.datetime()]),
            aggregation: z.enum(AGGREGATIONS).optional(),
            subject: text.optional(),
            resourceId: text.optional(),
            uniqueBy: z.enum(['resourceId', 'subject']).optional(),
          })
          .strict(),
        output: z.object({
          type: z.string(),
          aggregation: z.string(),
          unit: z.string(),
          value: z.string(),
          events: z.number(),
        }),
        idempotency: 'pure',
        resource: (input) => `billing/meters/${input.type}`,
        handler: (input, ctx) =>
          billing.meters.aggregate(ctx.tenantId, {
            ...input,
            from: timeOf(input.from),
            to: timeOf(input.to),
          }),
      }),
    ),
  ];
}
