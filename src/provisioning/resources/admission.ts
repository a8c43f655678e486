/**
 * @module provisioning/resources/admission
 * Billing's say before anything is made. A kind whose meters have no price in effect fails closed
 * (`E_NO_PRICE`, naming the meter): new work of an unpriced kind is refused rather than given away.
 * The price of one provision is then held against the tenant's budgets (kind `provision`) like any
 * syscall's estimate — an exhausted budget refuses the provision with `E_BUDGET_EXCEEDED` before a
 * database exists — and posted when the resource is ready, or voided if provisioning fails.
 */
import type { Budgets } from '../billing/budgets.ts';
import { parseMoney } from '../billing/money.ts';
import type { Price, PriceBook } from '../billing/prices.ts';
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

export function priceAdmission(options: {
  prices: PriceBook;
  budgets: Budgets;
  metersOf: (kind: string) => ResourceMeters;
}): (request: AdmissionRequest) => Promise<ProvisionAdmission | undefined> {
  return async (request) => {
    const meters = options.metersOf(request.kind);
    const provisionPrice = await options.prices.requirePrice(request.tenantId, meters.provisions);
    await options.prices.requirePrice(request.tenantId, meters.readySeconds);
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
