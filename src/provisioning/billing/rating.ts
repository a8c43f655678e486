/**
 * @module provisioning/billing/rating
 * Rating turns a period's usage into invoice lines; posting turns the lines into ledger transfers.
 *
 * - **Periods** are calendar months in UTC: `2026-11` is [2026-11-01T00:00Z, 2026-12-01T00:00Z).
 * - **Quantity** per meter: `Meters.aggregate` with the meter's own aggregation.
 * - **Version changes inside a period**: for additive aggregations (`sum`, `count`,
 *   `time_weighted`) the period is split at each `effectiveFrom` and each part is aggregated and
 *   priced by its own version, tiers continuing across parts (graduated: a part prices the stretch
 *   of the running quantity it adds; volume: the tier is the one holding the line's whole quantity).
 *   `max`, `latest` and `unique_count` cannot be split, so the whole period's quantity is priced by
 *   the version in effect at the period's end. The minimum and a volume tier's flat amount come
 *   from the line's last version (the one in effect at the end).
 * - **Rounding**: products are exact (quantity in 10⁻⁹ × unit price in 10⁻¹² = 10⁻²¹ of the major
 *   unit). Each line is rounded once, half up, to the currency's minor unit (cents for USD, whole
 *   yen), after the minimum; totals add rounded lines, so they equal what is posted.
 * - **Unpriced**: usage in a stretch where no version applies is listed in `unpriced` with its
 *   quantity, never rated as zero.
 * - **Posting** (after the period ended): one transfer per line from the tenant's wallet
 *   (`<tenant>:wallet:<currency>`, opened without overdraft protection when missing: postpaid, a
 *   negative balance is what the tenant owes) to its revenue account, id
 *   `inv:<tenant>:<period>:<meter>:<currency>`, all lines in one transaction. Posting again charges
 *   nothing more; if the invoice changed since (late meter events) the line is `E_CONFLICT`:
 *   corrections are new transfers.
 */
import { StrataError, isStrataError } from '../../kernel/errors.ts';
import type { Transaction } from '../../kernel/index.ts';
import type { Billing } from './billing.ts';
import type { AccountKind, Transfer } from './ledger.ts';
import type { Aggregation, AggregateResult, MeterDefinition } from './meter.ts';
import { currencyExponent, formatMicros, formatScaled, MAX_MICROS, parseMoney } from './money.ts';
import { PRICE_DIGITS, toScaled, type Price, type PriceBook } from './prices.ts';

/** Decimals of a quantity (time-weighted meters give unit·seconds to 10⁻⁹). */
const QTY_DIGITS = 9;
/** Decimals of an exact amount: quantity × unit price. */
export const EXACT_DIGITS = QTY_DIGITS + PRICE_DIGITS;
const MICROS_TO_EXACT = 10n ** BigInt(EXACT_DIGITS - 6);
const ADDITIVE: ReadonlySet<Aggregation> = new Set(['sum', 'count', 'time_weighted']);

export interface BillingPeriod {
  /** `YYYY-MM`. */
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

/** `2026-11` → [2026-11-01T00:00Z, 2026-12-01T00:00Z); `E_INVALID_INPUT` for anything else. */
export function parsePeriod(key: string): BillingPeriod {
  const match = typeof key === 'string' ? /^(\d{4})-(0[1-9]|1[0-2])$/.exec(key) : null;
  if (!match)
    throw new StrataError('E_INVALID_INPUT', 'a billing period is a UTC month such as 2026-11', {
      issues: [{ path: 'period', message: 'YYYY-MM' }],
    });
  const year = Number(match[1]);
  const month = Number(match[2]) - 1;
  return { key, from: Date.UTC(year, month, 1), to: Date.UTC(year, month + 1, 1) };
}

/** The UTC month holding `time`. */
export function periodAt(time: number): BillingPeriod {
  return parsePeriod(new Date(time).toISOString().slice(0, 7));
}

export interface UsageLine {
  readonly meter: string;
  readonly aggregation: Aggregation;
  readonly unit: string;
  readonly quantity: string;
  readonly events: number;
}

/** One price version's share of a line. */
export interface LineSegment {
  readonly priceId: string;
  readonly version: number;
  readonly scope: 'tenant' | 'global';
  readonly from: number;
  readonly to: number;
  readonly quantity: string;
  /** Exact, before rounding (up to 21 decimals of the major unit). */
  readonly amount: string;
}

export interface InvoiceLine {
  readonly meter: string;
  readonly currency: string;
  readonly unit: string;
  readonly quantity: string;
  readonly segments: readonly LineSegment[];
  /** Exact sum of the segments, before the minimum and rounding. */
  readonly subtotal: string;
  readonly minimum?: string;
  readonly minimumApplied: boolean;
  /** What is charged: micro-units, rounded half up to the currency's minor unit. */
  readonly amount: bigint;
}

export interface UnpricedUsage {
  readonly meter: string;
  readonly unit: string;
  readonly from: number;
  readonly to: number;
  readonly quantity: string;
  readonly events: number;
}

export interface Invoice {
  readonly tenantId: string;
  readonly from: number;
  readonly to: number;
  readonly lines: readonly InvoiceLine[];
  readonly totals: readonly { readonly currency: string; readonly amount: bigint }[];
  readonly unpriced: readonly UnpricedUsage[];
  /** Every meter with usage in the window, priced or not. */
  readonly usage: readonly UsageLine[];
}

export interface PostedLine {
  readonly meter: string;
  readonly currency: string;
  readonly transfer: Transfer;
  /** False when an earlier post already made this transfer. */
  readonly created: boolean;
}

export interface PostResult {
  readonly period: BillingPeriod;
  readonly invoice: Invoice;
  readonly posted: readonly PostedLine[];
}

/** A usage stretch priced by one version (or by none). */
interface Part {
  readonly from: number;
  readonly to: number;
  readonly price?: Price;
  readonly quantity: bigint;
  readonly events: number;
}

interface CompiledTier {
  readonly upTo: bigint | null;
  readonly unit: bigint;
  readonly flat: bigint;
}

export const walletAccountId = (tenantId: string, currency: string): string =>
  `${tenantId}:wallet:${currency}`;
export const revenueAccountId = (tenantId: string, currency: string): string =>
  `${tenantId}:revenue:${currency}`;
/** The ledger transfer id of an invoice line: one charge per (tenant, period, meter, currency). */
export const invoiceTransferId = (
  tenantId: string,
  period: string,
  line: { meter: string; currency: string },
): string => `inv:${tenantId}:${period}:${line.meter}:${line.currency}`;

const quantityOf = (result: AggregateResult): bigint => toScaled(result.value, QTY_DIGITS);
const exactMoney = (amount: string, currency: string): bigint =>
  parseMoney(amount, currency).micros * MICROS_TO_EXACT;

function compileTiers(price: Price): CompiledTier[] {
  return (price.tiers ?? []).map((tier) => ({
    upTo: tier.upTo === null ? null : toScaled(tier.upTo, QTY_DIGITS),
    unit: toScaled(tier.unitAmount, PRICE_DIGITS),
    flat: tier.flatAmount === undefined ? 0n : exactMoney(tier.flatAmount, price.currency),
  }));
}

/** Graduated: each tier prices the part of [lo, hi) inside it; a flat amount when [lo, hi) enters it. */
function graduated(tiers: readonly CompiledTier[], lo: bigint, hi: bigint): bigint {
  let amount = 0n;
  let floor = 0n;
  for (const tier of tiers) {
    const top = tier.upTo === null || tier.upTo > hi ? hi : tier.upTo;
    const bottom = floor > lo ? floor : lo;
    if (top > bottom) amount += (top - bottom) * tier.unit;
    if (lo <= floor && floor < hi) amount += tier.flat;
    if (tier.upTo === null || tier.upTo >= hi) break;
    floor = tier.upTo;
  }
  return amount;
}

/** Exact amount of one part: `lo` is the line's running quantity before it, `total` the line's. */
function partAmount(
  price: Price,
  part: { lo: bigint; quantity: bigint; total: bigint; last: boolean },
): bigint {
  if (price.unitAmount !== undefined) return part.quantity * toScaled(price.unitAmount, PRICE_DIGITS);
  const tiers = compileTiers(price);
  if (price.mode === 'volume') {
    const tier = tiers.find((t) => t.upTo === null || part.total <= t.upTo) ?? tiers.at(-1);
    if (!tier) return 0n;
    return part.quantity * tier.unit + (part.last && part.total > 0n ? tier.flat : 0n);
  }
  return graduated(tiers, part.lo, part.lo + part.quantity);
}

/** Rounds an exact amount half up to the currency's minor unit and returns micro-units. */
function roundToMinor(exact: bigint, currency: string): bigint {
  const step = 10n ** BigInt(EXACT_DIGITS - currencyExponent(currency));
  const micros = (((exact + step / 2n) / step) * step) / MICROS_TO_EXACT;
  if (micros > MAX_MICROS)
    throw new StrataError(
      'E_INVALID_MONEY',
      'an invoice line exceeds the largest amount the ledger carries',
      {
        amount: formatScaled(exact, EXACT_DIGITS),
        currency,
      },
    );
  return micros;
}

function priceLine(meter: MeterDefinition & { unit: string }, parts: readonly Part[]): InvoiceLine {
  const last = parts.at(-1);
  if (!last?.price) throw new StrataError('E_INTERNAL', 'a line needs priced parts');
  const currency = last.price.currency;
  const total = parts.reduce((sum, p) => sum + p.quantity, 0n);
  let running = 0n;
  let subtotal = 0n;
  const segments = parts.map((part, i): LineSegment => {
    const price = part.price as Price;
    const amount = partAmount(price, {
      lo: running,
      quantity: part.quantity,
      total,
      last: i === parts.length - 1,
    });
    running += part.quantity;
    subtotal += amount;
    return {
      priceId: price.id,
      version: price.version,
      scope: price.scope,
      from: part.from,
      to: part.to,
      quantity: formatScaled(part.quantity, QTY_DIGITS),
      amount: formatScaled(amount, EXACT_DIGITS),
    };
  });
  const minimum = last.price.minimum === undefined ? undefined : exactMoney(last.price.minimum, currency);
  const minimumApplied = minimum !== undefined && subtotal < minimum;
  return {
    meter: meter.type,
    currency,
    unit: meter.unit,
    quantity: formatScaled(total, QTY_DIGITS),
    segments,
    subtotal: formatScaled(subtotal, EXACT_DIGITS),
    ...(last.price.minimum === undefined ? {} : { minimum: last.price.minimum }),
    minimumApplied,
    amount: roundToMinor(minimumApplied ? minimum : subtotal, currency),
  };
}

export interface RatingOptions {
  readonly billing: Billing;
  readonly prices: PriceBook;
}

export class Rating {
  readonly billing: Billing;
  readonly prices: PriceBook;

  constructor(options: RatingOptions) {
    this.billing = options.billing;
    this.prices = options.prices;
  }

  /** Rates the tenant's usage in [from, to): lines per meter and currency, totals, unpriced usage. */
  async rate(tenantId: string, window: { from: number; to: number }): Promise<Invoice> {
    const { from, to } = window;
    if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from < to))
      throw new StrataError('E_INVALID_INPUT', 'from and to are epoch milliseconds with from < to', {
        issues: [{ path: 'from', message: 'from < to' }],
      });
    const lines: InvoiceLine[] = [];
    const unpriced: UnpricedUsage[] = [];
    const usage: UsageLine[] = [];
    for (const meter of await this.billing.meters.list(tenantId)) {
      const whole = await this.billing.meters.aggregate(tenantId, { type: meter.type, from, to });
      if (whole.events === 0 && quantityOf(whole) === 0n) continue;
      const { aggregation, unit, value: quantity, events } = whole;
      usage.push({ meter: meter.type, aggregation, unit, quantity, events });
      const parts = await this.#parts(tenantId, { meter, whole, window });
      for (const part of parts)
        if (!part.price && (part.quantity > 0n || part.events > 0))
          unpriced.push({
            meter: meter.type,
            unit,
            from: part.from,
            to: part.to,
            quantity: formatScaled(part.quantity, QTY_DIGITS),
            events: part.events,
          });
      const currencies = [...new Set(parts.flatMap((p) => (p.price ? [p.price.currency] : [])))];
      for (const currency of currencies) {
        const priced = parts.filter((p) => p.price?.currency === currency);
        // A price that only covers a stretch without usage makes no line (and charges no minimum).
        if (priced.some((p) => p.quantity > 0n || p.events > 0))
          lines.push(priceLine({ ...meter, unit }, priced));
      }
    }
    const totals = new Map<string, bigint>();
    for (const line of lines) totals.set(line.currency, (totals.get(line.currency) ?? 0n) + line.amount);
    return {
      tenantId,
      from,
      to,
      lines,
      totals: [...totals]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([currency, amount]) => ({ currency, amount })),
      unpriced,
      usage,
    };
  }

  /** Rates a calendar month (`2026-11`). */
  async invoice(tenantId: string, period: string): Promise<Invoice> {
    return this.rate(tenantId, parsePeriod(period));
  }

  /** Charges a closed period's invoice to the tenant's wallet, once (see the module doc). */
  async post(tenantId: string, periodKey: string): Promise<PostResult> {
    const period = parsePeriod(periodKey);
    const now = this.billing.ledger.clock.now();
    if (now < period.to)
      throw new StrataError('E_CONFLICT', `period ${period.key} is still open; post it after it ends`, {
        period: period.key,
        endsAt: new Date(period.to).toISOString(),
      });
    const invoice = await this.rate(tenantId, period);
    const charge = (): Promise<PostedLine[]> =>
      this.billing.ledger.store.transaction((tx) => this.#charge(tx, { tenantId, period, invoice }));
    let posted: PostedLine[];
    try {
      posted = await charge();
    } catch (error) {
      // A concurrent post of the same period won the race for the transfer ids: replay against it.
      if (!(isStrataError(error) && error.code === 'E_CONFLICT' && error.cause !== undefined)) throw error;
      posted = await charge();
    }
    return { period, invoice, posted };
  }

  async #charge(
    tx: Transaction,
    at: { tenantId: string; period: BillingPeriod; invoice: Invoice },
  ): Promise<PostedLine[]> {
    const { tenantId, period } = at;
    const ledger = this.billing.ledger;
    const posted: PostedLine[] = [];
    for (const line of at.invoice.lines) {
      if (line.amount === 0n) continue;
      const id = invoiceTransferId(tenantId, period.key, line);
      const existing = await ledger.getTransfer(tenantId, id, tx);
      if (existing) {
        if (existing.amount !== line.amount)
          throw new StrataError(
            'E_CONFLICT',
            `${period.key} was posted with ${formatMicros(existing.amount, line.currency)} for ${line.meter}; the invoice now says ${formatMicros(line.amount, line.currency)}: post a correction`,
            { period: period.key, meter: line.meter, transferId: id },
          );
        posted.push({ meter: line.meter, currency: line.currency, transfer: existing, created: false });
        continue;
      }
      const wallet = await this.#account(tx, { tenantId, kind: 'wallet', currency: line.currency });
      const revenue = await this.#account(tx, { tenantId, kind: 'revenue', currency: line.currency });
      const transfer = await ledger.transfer(
        {
          id,
          tenantId,
          debitAccountId: wallet,
          creditAccountId: revenue,
          amount: line.amount,
          currency: line.currency,
          memo: `invoice ${period.key} ${line.meter}`,
        },
        tx,
      );
      posted.push({ meter: line.meter, currency: line.currency, transfer, created: true });
    }
    return posted;
  }

  /** The tenant's wallet or revenue account, opened when missing (an existing one is used as is). */
  async #account(
    tx: Transaction,
    spec: { tenantId: string; kind: Extract<AccountKind, 'wallet' | 'revenue'>; currency: string },
  ): Promise<string> {
    const id =
      spec.kind === 'wallet'
        ? walletAccountId(spec.tenantId, spec.currency)
        : revenueAccountId(spec.tenantId, spec.currency);
    const existing = await tx.get<{ id: string }>('SELECT id FROM bill_accounts WHERE id = ?', [id]);
    if (!existing)
      await this.billing.ledger.openAccount(
        { id, tenantId: spec.tenantId, kind: spec.kind, currency: spec.currency },
        tx,
      );
    return id;
  }

  /** Splits the window where the price changes; non-additive meters are priced whole at the end. */
  async #parts(
    tenantId: string,
    at: { meter: MeterDefinition; whole: AggregateResult; window: { from: number; to: number } },
  ): Promise<Part[]> {
    const { meter, whole, window } = at;
    const all = { from: window.from, to: window.to, quantity: quantityOf(whole), events: whole.events };
    if (!ADDITIVE.has(whole.aggregation)) {
      const price = await this.prices.priceAt(tenantId, meter.type, window.to - 1);
      return [{ ...all, ...(price ? { price } : {}) }];
    }
    const segments = await this.prices.schedule(tenantId, meter.type, window);
    if (segments.length === 1) return [{ ...all, ...segments[0] }];
    const parts: Part[] = [];
    for (const segment of segments) {
      const result = await this.billing.meters.aggregate(tenantId, {
        type: meter.type,
        from: segment.from,
        to: segment.to,
      });
      parts.push({ ...segment, quantity: quantityOf(result), events: result.events });
    }
    return parts;
  }
}
