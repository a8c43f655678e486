/**
 * @module provisioning/billing/price-syscalls
 * `billing.prices.{set,list,get}`, `billing.invoice` and `billing.report`. The tenant always comes
 * from the caller's principal: `set` writes the caller's own price versions (overriding the global
 * default, which only the operator sets through `PriceBook`), `list` and `get` show both. Amounts
 * travel as decimal strings, times as epoch ms or ISO 8601 in and ISO 8601 out.
 * Resources: `billing/prices/<meter>`, `billing/invoices/<period>`, `billing/reports/<period>`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { PriceBook, Price } from './prices.ts';
import type { Rating } from './rating.ts';
import {
  billingReport,
  invoiceJson,
  invoiceSchema,
  reportJson,
  reportSchema,
  type ResourceSummary,
  type SpendTokenSummary,
} from './report.ts';

export interface PriceSyscallsOptions {
  readonly rating: Rating;
  /** The report's `resources` section, when the provisioner is plugged in. */
  readonly resources?: (tenantId: string) => Promise<readonly ResourceSummary[]>;
  /** The report's `spendTokens` section, when spend tokens are plugged in. */
  readonly spendTokens?: (tenantId: string) => Promise<readonly SpendTokenSummary[]>;
}

const time = z.union([z.number().int().min(0), z.iso.datetime()]);
const timeOf = (t: number | string): number => (typeof t === 'number' ? t : Date.parse(t));
const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a UTC month such as 2026-11');
// Amounts are checked by the price book (stable E_INVALID_MONEY codes), so only their type is here.
const decimal = z.string().min(1).max(40);

const tierSchema = z
  .object({ upTo: decimal.nullable(), unitAmount: decimal, flatAmount: decimal.optional() })
  .strict();

const priceSchema = z.object({
  id: z.string(),
  scope: z.enum(['tenant', 'global']),
  meter: z.string(),
  version: z.number(),
  currency: z.string(),
  unitAmount: z.string().optional(),
  tiers: z.array(tierSchema).optional(),
  mode: z.enum(['graduated', 'volume']).optional(),
  minimum: z.string().optional(),
  effectiveFrom: z.string(),
  createdAt: z.string(),
});

function priceJson(price: Price): z.infer<typeof priceSchema> {
  const { tenantId: _tenant, effectiveFrom, createdAt, tiers, ...rest } = price;
  return {
    ...rest,
    ...(tiers ? { tiers: [...tiers] } : {}),
    effectiveFrom: new Date(effectiveFrom).toISOString(),
    createdAt: new Date(createdAt).toISOString(),
  };
}

export function priceSyscalls(options: PriceSyscallsOptions): SyscallDefinition<unknown, unknown>[] {
  const { rating } = options;
  const prices: PriceBook = rating.prices;
  const now = (): number => rating.billing.ledger.clock.now();
  return [
    erase(
      defineSyscall({
        name: 'billing.prices.set',
        description:
          'Adds a price version for a meter (per unit, or graduated/volume tiers; optional minimum per month). Versions are never edited: a new one starts at a later effectiveFrom.',
        input: z
          .object({
            meter: z.string().min(1).max(100),
            currency: z.string().max(10).default(rating.billing.currency),
            unitAmount: decimal.optional(),
            tiers: z.array(tierSchema).min(1).max(20).optional(),
            mode: z.enum(['graduated', 'volume']).optional(),
            minimum: decimal.optional(),
            effectiveFrom: time.optional(),
          })
          .strict(),
        output: priceSchema,
        idempotency: 'idempotent',
        resource: (input) => `billing/prices/${input.meter}`,
        handler: async (input, ctx) =>
          priceJson(
            await prices.set({
              ...input,
              tenantId: ctx.tenantId,
              effectiveFrom: input.effectiveFrom === undefined ? undefined : timeOf(input.effectiveFrom),
            }),
          ),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.prices.list',
        description:
          'Every price version of the caller’s tenant and the global defaults, by meter and effectiveFrom.',
        input: z.object({ meter: z.string().min(1).max(100).optional() }).strict(),
        output: z.object({ prices: z.array(priceSchema.extend({ inEffect: z.boolean() })) }),
        idempotency: 'pure',
        resource: (input) => (input.meter ? `billing/prices/${input.meter}` : 'billing/prices'),
        handler: async (input, ctx) => {
          const list = await prices.list(ctx.tenantId, input);
          const current = new Set<string>();
          for (const meter of new Set(list.map((p) => p.meter))) {
            const price = await prices.priceAt(ctx.tenantId, meter, now());
            if (price) current.add(price.id);
          }
          return { prices: list.map((p) => ({ ...priceJson(p), inEffect: current.has(p.id) })) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.prices.get',
        description:
          'One price version by id, or the version in effect for a meter at a time (default now); E_NO_PRICE when none applies.',
        input: z
          .object({
            id: z.string().min(1).max(200).optional(),
            meter: z.string().min(1).max(100).optional(),
            at: time.optional(),
          })
          .strict()
          .refine((i) => (i.id === undefined) !== (i.meter === undefined), 'give either id or meter'),
        output: priceSchema,
        idempotency: 'pure',
        resource: (input) => `billing/prices/${input.meter ?? input.id ?? ''}`,
        handler: async (input, ctx) =>
          priceJson(
            input.id !== undefined
              ? await prices.get(ctx.tenantId, input.id)
              : await prices.requirePrice(
                  ctx.tenantId,
                  input.meter ?? '',
                  input.at === undefined ? now() : timeOf(input.at),
                ),
          ),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.invoice',
        description:
          'Rates a UTC month of the caller’s usage: lines per meter (quantity, price versions applied, amount), totals per currency, and usage without a price.',
        input: z.object({ period }).strict(),
        output: invoiceSchema,
        idempotency: 'pure',
        resource: (input) => `billing/invoices/${input.period}`,
        handler: async (input, ctx) => invoiceJson(await rating.invoice(ctx.tenantId, input.period)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.report',
        description:
          'The caller’s billing report for a UTC month: invoice, usage by meter, posted charges, trial balance, budget headroom, live holds, and resources and spend tokens when available.',
        input: z.object({ period }).strict(),
        output: reportSchema,
        idempotency: 'pure',
        resource: (input) => `billing/reports/${input.period}`,
        handler: async (input, ctx) => {
          const { resources, spendTokens } = options;
          const report = await billingReport(rating, ctx.tenantId, input.period, {
            ...(resources ? { resources: () => resources(ctx.tenantId) } : {}),
            ...(spendTokens ? { spendTokens: () => spendTokens(ctx.tenantId) } : {}),
          });
          return reportJson(report);
        },
      }),
    ),
  ];
}
