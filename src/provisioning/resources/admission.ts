/**
 * @module provisioning/resources/admission
 * Billing's say before anything is made. A kind whose meters have no price in effect fails closed
 * (`E_NO_PRICE`, naming the meter): new work of an unpriced kind is refused rather than given away.
 * The price of one provision is then held against the tenant's budgets (kind `provision`) like any
 * syscall's estimate — an exhausted budget refuses the provision with `E_BUDGET_EXCEEDED` before a
 * database exists — and posted when the resource is ready, or voided if provisioning fails.
 *
 * A provision may instead be paid with a spend token: the price (rounded up to the currency's
 * minor unit) is reserved on the token — scope, limits, expiry and single use all checked — then
 * captured when the resource is ready or voided if it is not. The token replaces the budget hold.
 */
import type { Budgets } from '../billing/budgets.ts';
import { currencyExponent, formatMicros, parseMoney } from '../billing/money.ts';
import type { Price, PriceBook } from '../billing/prices.ts';
import type { SpendTokens } from '../billing/spend-tokens.ts';
import { StrataError } from '../../kernel/index.ts';
import type { AdmissionRequest, ProvisionAdmission } from './manager.ts';
import type { ResourceMeters } from './types.ts';

/** Micro-units of one unit at a price (the first tier's unit and flat amounts), rounded up. */
export function oneUnitMicros(price: Price): bigint {
  const tier = price.tiers?.[0];
  const unit = price.unitAmount ?? tier?.unitAmount ?? '0';
  const [whole = '0', fraction = ''] = unit.split('.');
  const micros = BigInt(whole) * 1_000_000n + BigInt(fraction.slice(0, 6).padEnd(6, '0'));
  const roundedUp = /[1-9]/.test(fraction.slice(6)) ? micros + 1n : micros;
  const flat = tier?.flatAmount === undefined ? 0n : parseMoney(tier.flatAmount, price.currency).micros;
  return roundedUp + flat;
}

/** Micro-units rounded up to the currency's minor unit (a spend token takes whole cents). */
function toMinorUnitCeil(micros: bigint, currency: string): bigint {
  const step = 10n ** BigInt(6 - currencyExponent(currency));
  return ((micros + step - 1n) / step) * step;
}

async function payWithToken(
  tokens: SpendTokens,
  request: AdmissionRequest & { spendToken: string },
  price: Price,
): Promise<ProvisionAdmission> {
  const amount = formatMicros(toMinorUnitCeil(oneUnitMicros(price), price.currency), price.currency);
  const reservation = await tokens.reserve(request.tenantId, {
    secret: request.spendToken,
    amount,
    currency: price.currency,
    purchase: { kind: request.kind, priceId: price.id },
    idempotencyKey: `provision:${request.resourceId}`,
  });
  return {
    commit: async () => {
      await tokens.capture(request.tenantId, reservation.id, amount);
    },
    release: async () => {
      await tokens.void(request.tenantId, reservation.id);
    },
  };
}

export function priceAdmission(options: {
  prices: PriceBook;
  budgets: Budgets;
  tokens?: SpendTokens;
  metersOf: (kind: string) => ResourceMeters;
}): (request: AdmissionRequest) => Promise<ProvisionAdmission | undefined> {
  return async (request) => {
    const meters = options.metersOf(request.kind);
    const provisionPrice = await options.prices.requirePrice(request.tenantId, meters.provisions);
    await options.prices.requirePrice(request.tenantId, meters.readySeconds);
    const { spendToken } = request;
    if (spendToken !== undefined) {
      if (!options.tokens)
        throw new StrataError('E_INVALID_INPUT', 'spend tokens are not enabled on this server');
      return payWithToken(options.tokens, { ...request, spendToken }, provisionPrice);
    }
    // Budgets count in their own currency; a price in another one is billed but not held here.
    if (provisionPrice.currency !== options.budgets.currency) return undefined;
    const amount = oneUnitMicros(provisionPrice);
    const id = await options.budgets.reserve(
      {
        tenantId: request.tenantId,
        principalId: request.principalId,
        kind: 'provision',
        syscall: 'provision.create',
      },
      amount,
    );
    if (id === null) return undefined;
    return {
      commit: () => options.budgets.commit(request.tenantId, id, amount),
      release: (reason) => options.budgets.release(id, request.tenantId, reason),
    };
  };
}
