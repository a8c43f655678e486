/**
 * @module provisioning/billing/prices
 * The price book: versioned prices per meter type, per tenant over a global default.
 *
 * Glossary
 * - **Price version**: `{meter, currency, unitAmount | tiers + mode, minimum?, effectiveFrom}`,
 *   immutable. Setting a price appends the meter's next version; its `effectiveFrom` must be later
 *   than the latest version of the same scope (prices are never edited in place) and not before
 *   the start of the current UTC month (an earlier month may already be invoiced). Sending a
 *   version again unchanged (same `effectiveFrom`, same definition) is a no-op; another definition
 *   at an existing `effectiveFrom` is `E_CONFLICT`.
 * - **Scope**: a tenant's own versions override the global default (tenant id `*`, set by the
 *   operator through this class; the syscalls only write the caller's tenant). At time `t` the
 *   tenant's latest version effective at `t` applies, else the latest global one, else none.
 * - **Amounts**: `unitAmount` prices one unit of the meter's quantity: a non-negative decimal string
 *   with up to 12 decimals, so sub-micro prices (0.00000015 per token) are exact. A tier's
 *   `flatAmount` and the per-period `minimum` are charged as such, so they have at most the
 *   currency's decimals. Rounding of the products happens once per invoice line (rating.ts).
 * - **Tiers**: ordered by `upTo`, a quantity bound that belongs to its tier; the last tier's `upTo` is
 *   `null` (∞). `graduated`: each tier prices the part of the quantity inside it; `volume`: the
 *   tier holding the whole quantity prices all of it. A flat amount is charged once, when the
 *   quantity enters its tier (not at quantity 0).
 *
 * Errors: `E_INVALID_MONEY` (negative, NaN, Infinity, too many decimals; data.path),
 * `E_UNKNOWN_CURRENCY`, `E_INVALID_QUANTITY` (a bad `upTo`), `E_INVALID_INPUT` (shape, tiers out of
 * order, effectiveFrom too early; data.issues), `E_CONFLICT`, `E_NO_PRICE` (`requirePrice`).
 */
import { StrataError, isStrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Queryable, Store } from '../../kernel/index.ts';
import { PRICES_LAYER, priceMigrations } from './price-migrations.ts';
import { currencyExponent, formatMicros, formatScaled, parseMoney, parseQuantity } from './money.ts';

/** The tenant id of the global default prices. */
export const GLOBAL_PRICES = '*';
/** Decimals a unit price may have (10⁻¹² of the major unit). */
export const PRICE_DIGITS = 12;
const MAX_TIERS = 20;
const METER = /^[a-z][a-z0-9_.-]{0,99}$/;
const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export type TierMode = 'graduated' | 'volume';

export interface PriceTier {
  /** Inclusive upper bound of the tier's quantity (decimal string); `null` = ∞, last tier only. */
  readonly upTo: string | null;
  readonly unitAmount: string;
  readonly flatAmount?: string;
}

/** What a price charges: a unit amount, or tiers with a mode; optionally a minimum per period. */
export interface PriceDefinition {
  readonly currency: string;
  readonly unitAmount?: string;
  readonly tiers?: readonly PriceTier[];
  /** With `tiers`. @default 'graduated' */
  readonly mode?: TierMode;
  /** Charged instead of a smaller amount when the meter has usage in the period. */
  readonly minimum?: string;
}

export interface Price extends PriceDefinition {
  readonly id: string;
  readonly scope: 'tenant' | 'global';
  readonly tenantId: string;
  readonly meter: string;
  /** 1, 2, 3 … per (scope, meter). */
  readonly version: number;
  readonly effectiveFrom: number;
  readonly createdAt: number;
}

export interface SetPriceInput extends PriceDefinition {
  /** The tenant, or {@link GLOBAL_PRICES} for the default every tenant without its own falls back to. */
  readonly tenantId: string;
  readonly meter: string;
  /** Epoch ms. Pass it to make a retry idempotent. @default now */
  readonly effectiveFrom?: number;
}

/** A stretch of time in which one price version (or none) applies. */
export interface PriceSegment {
  readonly from: number;
  readonly to: number;
  readonly price?: Price;
}

type PriceRow = {
  id: string;
  tenant_id: string;
  meter: string;
  version: number;
  currency: string;
  definition: string;
  effective_from: number;
  created_at: number;
};

const invalid = (path: string, message: string): StrataError =>
  new StrataError('E_INVALID_INPUT', message, { issues: [{ path, message }] });

/** Adds `path` to a money or quantity error so the caller knows which field was wrong. */
function at<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isStrataError(error) && typeof error.data === 'object' && error.data !== null)
      throw new StrataError(error.code, `${path}: ${error.message}`, { ...error.data, path });
    throw error;
  }
}

/** A unit price as its canonical decimal string (non-negative, at most 12 decimals). */
export function parseUnitAmount(amount: unknown, currency: string): string {
  currencyExponent(currency);
  const bad = (reason: string): StrataError =>
    new StrataError('E_INVALID_MONEY', `invalid ${currency} unit amount: ${reason}`, {
      amount: typeof amount === 'string' ? amount.slice(0, 64) : typeof amount,
      currency,
      reason,
    });
  if (typeof amount !== 'string') throw bad('amounts are decimal strings, never numbers');
  const match = DECIMAL.exec(amount);
  if (!match) throw bad('not a decimal number');
  const [, sign = '', whole = '0', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (sign && (whole !== '0' || significant)) throw bad('negative amounts are not allowed here');
  if (significant.length > PRICE_DIGITS) throw bad(`at most ${PRICE_DIGITS} decimals`);
  if (whole.length > 12) throw bad('too large');
  return formatScaled(toScaled(`${whole}.${significant}`, PRICE_DIGITS), PRICE_DIGITS);
}

/** A canonical non-negative decimal string as an integer scaled by 10^digits (digits ≥ its decimals). */
export function toScaled(decimal: string, digits: number): bigint {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return BigInt(whole) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, '0') || '0');
}

function canonicalAmount(amount: unknown, currency: string): string {
  return formatMicros(parseMoney(amount, currency).micros, currency);
}

/** Validates a definition and returns it in canonical form (same price ⇒ same JSON). */
export function normalizePrice(input: PriceDefinition): PriceDefinition {
  const currency = input.currency;
  currencyExponent(currency);
  const hasUnit = input.unitAmount !== undefined;
  const hasTiers = input.tiers !== undefined;
  if (hasUnit === hasTiers)
    throw invalid('unitAmount', 'give either unitAmount or tiers, not both or neither');
  const minimum =
    input.minimum === undefined
      ? {}
      : { minimum: at('minimum', () => canonicalAmount(input.minimum, currency)) };
  if (hasUnit) {
    if (input.mode !== undefined) throw invalid('mode', 'mode applies to tiers only');
    return {
      currency,
      unitAmount: at('unitAmount', () => parseUnitAmount(input.unitAmount, currency)),
      ...minimum,
    };
  }
  const mode = input.mode ?? 'graduated';
  if (mode !== 'graduated' && mode !== 'volume') throw invalid('mode', 'mode is graduated or volume');
  return { currency, tiers: normalizeTiers(input.tiers, currency), mode, ...minimum };
}

function normalizeTiers(tiers: unknown, currency: string): PriceTier[] {
  if (!Array.isArray(tiers) || tiers.length === 0 || tiers.length > MAX_TIERS)
    throw invalid('tiers', `tiers is a list of 1–${MAX_TIERS} tiers`);
  let previous = 0n;
  return tiers.map((tier: unknown, i): PriceTier => {
    const path = `tiers.${i}`;
    if (typeof tier !== 'object' || tier === null) throw invalid(path, 'a tier is an object');
    const { upTo, unitAmount, flatAmount } = tier as Record<string, unknown>;
    const last = i === tiers.length - 1;
    if (upTo === null && !last) throw invalid(`${path}.upTo`, 'only the last tier may be unbounded (null)');
    if (upTo !== null && last) throw invalid(`${path}.upTo`, 'the last tier must be unbounded (upTo: null)');
    let bound: string | null = null;
    if (upTo !== null) {
      const micros = at(`${path}.upTo`, () => parseQuantity(upTo));
      if (micros <= previous)
        throw invalid(
          `${path}.upTo`,
          'tiers are in increasing order of upTo, each above 0 and the one before',
        );
      previous = micros;
      bound = formatScaled(micros, 6);
    }
    return {
      upTo: bound,
      unitAmount: at(`${path}.unitAmount`, () => parseUnitAmount(unitAmount, currency)),
      ...(flatAmount === undefined
        ? {}
        : { flatAmount: at(`${path}.flatAmount`, () => canonicalAmount(flatAmount, currency)) }),
    };
  });
}

function toPrice(row: PriceRow): Price {
  const definition = JSON.parse(row.definition) as Omit<PriceDefinition, 'currency'>;
  return {
    id: row.id,
    scope: row.tenant_id === GLOBAL_PRICES ? 'global' : 'tenant',
    tenantId: row.tenant_id,
    meter: row.meter,
    version: Number(row.version),
    currency: row.currency,
    ...definition,
    effectiveFrom: Number(row.effective_from),
    createdAt: Number(row.created_at),
  };
}

/** The version in effect at `time` among `rows` (a tenant's and the global ones, any order). */
function resolveAt(rows: readonly Price[], time: number): Price | undefined {
  let own: Price | undefined;
  let global: Price | undefined;
  for (const price of rows) {
    if (price.effectiveFrom > time) continue;
    if (price.scope === 'tenant') {
      if (!own || price.effectiveFrom > own.effectiveFrom) own = price;
    } else if (!global || price.effectiveFrom > global.effectiveFrom) global = price;
  }
  return own ?? global;
}

export interface PriceBookOptions {
  readonly store: Store;
  readonly clock: Clock;
}

export class PriceBook {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: PriceBookOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** Migrates the price book's schema and returns it. */
  static async open(options: PriceBookOptions): Promise<PriceBook> {
    await options.store.migrate(PRICES_LAYER, priceMigrations);
    return new PriceBook(options);
  }

  /** Appends a price version (see the module doc for the rules); nothing is stored on bad input. */
  async set(input: SetPriceInput): Promise<Price> {
    if (typeof input.meter !== 'string' || !METER.test(input.meter))
      throw invalid('meter', 'a meter type is lowercase [a-z0-9_.-], 1–100 characters');
    if (typeof input.tenantId !== 'string' || input.tenantId === '') throw invalid('tenantId', 'required');
    const definition = normalizePrice(input);
    const now = this.#clock.now();
    const effectiveFrom = input.effectiveFrom ?? now;
    if (!Number.isSafeInteger(effectiveFrom) || effectiveFrom < 0)
      throw invalid('effectiveFrom', 'effectiveFrom is epoch milliseconds');
    const today = new Date(now);
    const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1);
    if (effectiveFrom < monthStart)
      throw invalid(
        'effectiveFrom',
        'a price cannot start before the current UTC month (it may be invoiced)',
      );
    const { currency, ...rest } = definition;
    const version = { ...input, effectiveFrom, currency, json: JSON.stringify(rest), now };
    const append = (): Promise<Price> => this.#store.transaction((tx) => this.#append(tx, version));
    try {
      return await append();
    } catch (error) {
      // Two writers raced for the same version number (a UNIQUE violation): the loser tries once
      // more, now seeing the winner, so it replays an identical version or gets a precise conflict.
      if (isStrataError(error) && error.code === 'E_CONFLICT' && error.cause !== undefined) return append();
      throw error;
    }
  }

  /** The tenant's versions and the global ones, by meter then effectiveFrom (global first on ties). */
  async list(tenantId: string, options: { meter?: string } = {}): Promise<Price[]> {
    const rows = await this.#store.all<PriceRow>(
      `SELECT * FROM bill_prices WHERE tenant_id IN (?, ?)${options.meter === undefined ? '' : ' AND meter = ?'}
       ORDER BY meter, effective_from, CASE WHEN tenant_id = ? THEN 0 ELSE 1 END`,
      options.meter === undefined
        ? [tenantId, GLOBAL_PRICES, GLOBAL_PRICES]
        : [tenantId, GLOBAL_PRICES, options.meter, GLOBAL_PRICES],
    );
    return rows.map(toPrice);
  }

  /** One version by id (the tenant's or a global one); `E_NOT_FOUND` otherwise. */
  async get(tenantId: string, id: string): Promise<Price> {
    const row = await this.#store.get<PriceRow>(
      'SELECT * FROM bill_prices WHERE id = ? AND tenant_id IN (?, ?)',
      [id, tenantId, GLOBAL_PRICES],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no price ${id}`, { priceId: id });
    return toPrice(row);
  }

  /** The version in effect for the tenant's meter at `time`, or undefined. */
  async priceAt(tenantId: string, meter: string, time: number): Promise<Price | undefined> {
    const rows = await this.#store.all<PriceRow>(
      `SELECT * FROM bill_prices WHERE meter = ? AND tenant_id IN (?, ?) AND effective_from <= ?
       ORDER BY CASE WHEN tenant_id = ? THEN 1 ELSE 0 END, effective_from DESC LIMIT 1`,
      [meter, tenantId, GLOBAL_PRICES, time, GLOBAL_PRICES],
    );
    const row = rows[0];
    return row ? toPrice(row) : undefined;
  }

  /** Fail closed: the price in effect now (or at `time`), or `E_NO_PRICE` naming the meter. */
  async requirePrice(tenantId: string, meter: string, time: number = this.#clock.now()): Promise<Price> {
    const price = await this.priceAt(tenantId, meter, time);
    if (!price)
      throw new StrataError(
        'E_NO_PRICE',
        `meter ${meter} has no price: set one before starting work of this kind`,
        {
          meter,
          time: new Date(time).toISOString(),
        },
      );
    return price;
  }

  /** Splits [from, to) where the applicable version changes; a segment without a price has none. */
  async schedule(
    tenantId: string,
    meter: string,
    window: { from: number; to: number },
  ): Promise<PriceSegment[]> {
    const rows = (
      await this.#store.all<PriceRow>(
        'SELECT * FROM bill_prices WHERE meter = ? AND tenant_id IN (?, ?) AND effective_from < ? ORDER BY effective_from',
        [meter, tenantId, GLOBAL_PRICES, window.to],
      )
    ).map(toPrice);
    const starts = [
      window.from,
      ...rows.map((p) => p.effectiveFrom).filter((t) => t > window.from && t < window.to),
    ];
    const segments: PriceSegment[] = [];
    for (const [i, from] of starts.entries()) {
      const to = starts[i + 1] ?? window.to;
      if (from === to) continue;
      const price = resolveAt(rows, from);
      const previous = segments.at(-1);
      if (previous && previous.price?.id === price?.id) segments[segments.length - 1] = { ...previous, to };
      else segments.push({ from, to, ...(price ? { price } : {}) });
    }
    return segments;
  }

  async #append(
    tx: Queryable,
    input: {
      tenantId: string;
      meter: string;
      currency: string;
      json: string;
      effectiveFrom: number;
      now: number;
    },
  ): Promise<Price> {
    const same = await this.#sameVersion(tx, input);
    if (same) return same;
    const latest = await tx.get<PriceRow>(
      'SELECT * FROM bill_prices WHERE tenant_id = ? AND meter = ? ORDER BY version DESC LIMIT 1',
      [input.tenantId, input.meter],
    );
    if (latest && Number(latest.effective_from) >= input.effectiveFrom)
      throw new StrataError(
        'E_CONFLICT',
        `prices are never edited: a new version of ${input.meter} must start after ${new Date(Number(latest.effective_from)).toISOString()}`,
        {
          meter: input.meter,
          latestVersion: Number(latest.version),
          latestEffectiveFrom: Number(latest.effective_from),
        },
      );
    const row: PriceRow = {
      id: newId('prc', input.now),
      tenant_id: input.tenantId,
      meter: input.meter,
      version: (latest ? Number(latest.version) : 0) + 1,
      currency: input.currency,
      definition: input.json,
      effective_from: input.effectiveFrom,
      created_at: input.now,
    };
    await tx.run(
      `INSERT INTO bill_prices (id, tenant_id, meter, version, currency, definition, effective_from, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        row.id,
        row.tenant_id,
        row.meter,
        row.version,
        row.currency,
        row.definition,
        row.effective_from,
        row.created_at,
      ],
    );
    return toPrice(row);
  }

  /** The identical version already stored, undefined if none; another definition there is `E_CONFLICT`. */
  async #sameVersion(
    q: Queryable,
    input: { tenantId: string; meter: string; currency: string; json: string; effectiveFrom: number },
  ): Promise<Price | undefined> {
    const row = await q.get<PriceRow>(
      'SELECT * FROM bill_prices WHERE tenant_id = ? AND meter = ? AND effective_from = ?',
      [input.tenantId, input.meter, input.effectiveFrom],
    );
    if (!row) return undefined;
    if (row.definition !== input.json || row.currency !== input.currency)
      throw new StrataError(
        'E_CONFLICT',
        `a price of ${input.meter} effective at that time exists with another definition`,
        {
          meter: input.meter,
          priceId: row.id,
        },
      );
    return toPrice(row);
  }
}
