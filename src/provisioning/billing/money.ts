/**
 * @module provisioning/billing/money
 * Money is never a JS `number`. An amount is a `bigint` count of **micro-units** (10⁻⁶ of the
 * currency's major unit: 1 USD = 1,000,000), the same integer unit the kernel's cost estimates use,
 * so a model call costing $0.000150 is exact. Amounts typed by people are decimal strings checked
 * against the currency's own exponent (USD and EUR 2 decimals, JPY 0, KWD 3); rates may ask for
 * micro precision. Values stay below 2^53 micro-units (about 9 billion major units) so the store's
 * BIGINT columns carry them exactly on both engines.
 *
 * Errors: `E_INVALID_MONEY` (not a decimal string, NaN, Infinity, negative where not allowed, too
 * many decimals, too large), `E_UNKNOWN_CURRENCY`, `E_CURRENCY_MISMATCH` (mixed currencies).
 */
import { StrataError } from '../../kernel/errors.ts';

/** ISO 4217 codes Strata knows, with their minor-unit exponents. */
export const CURRENCIES: Readonly<Record<string, number>> = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CHF: 2,
  CAD: 2,
  AUD: 2,
  NZD: 2,
  SEK: 2,
  NOK: 2,
  DKK: 2,
  PLN: 2,
  CZK: 2,
  CNY: 2,
  HKD: 2,
  SGD: 2,
  INR: 2,
  BRL: 2,
  MXN: 2,
  ZAR: 2,
  JPY: 0,
  KRW: 0,
  BHD: 3,
  KWD: 3,
  JOD: 3,
};

/** Micro-units per major unit. */
export const MICROS_PER_UNIT = 1_000_000n;
const MICRO_DIGITS = 6;
/** Largest amount the store carries exactly (2^53 − 1 micro-units). */
export const MAX_MICROS = 9_007_199_254_740_991n;

export interface Money {
  readonly currency: string;
  /** Integer micro-units (10⁻⁶ of the major unit). */
  readonly micros: bigint;
}

export interface ParseMoneyOptions {
  /** Accept a leading minus. @default false */
  readonly allowNegative?: boolean;
  /** `currency`: at most the currency's exponent in decimals (cents for USD); `micro`: up to 6. @default 'currency' */
  readonly precision?: 'currency' | 'micro';
}

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/** The currency's exponent, or `E_UNKNOWN_CURRENCY`. */
export function currencyExponent(currency: string): number {
  const exponent = typeof currency === 'string' ? CURRENCIES[currency] : undefined;
  if (exponent === undefined || !Object.hasOwn(CURRENCIES, currency))
    throw new StrataError('E_UNKNOWN_CURRENCY', `unknown currency ${JSON.stringify(currency)}`, {
      currency: String(currency),
      known: Object.keys(CURRENCIES),
    });
  return exponent;
}

/** Parses a decimal string such as `"5.00"` into micro-units of `currency`. */
export function parseMoney(amount: unknown, currency: string, options: ParseMoneyOptions = {}): Money {
  const exponent = currencyExponent(currency);
  const bad = (reason: string): StrataError =>
    new StrataError('E_INVALID_MONEY', `invalid ${currency} amount: ${reason}`, {
      amount: typeof amount === 'string' ? amount.slice(0, 64) : typeof amount,
      currency,
      reason,
    });
  if (typeof amount !== 'string') throw bad('amounts are decimal strings, never numbers');
  const match = DECIMAL.exec(amount);
  if (!match) throw bad('not a decimal number');
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (sign && !options.allowNegative) throw bad('negative amounts are not allowed here');
  const allowed = options.precision === 'micro' ? MICRO_DIGITS : exponent;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > allowed)
    throw bad(`at most ${allowed} decimal${allowed === 1 ? '' : 's'} for ${currency}`);
  if (whole.length > 16) throw bad('too large');
  const micros = BigInt(whole) * MICROS_PER_UNIT + BigInt(significant.padEnd(MICRO_DIGITS, '0') || '0');
  if (micros > MAX_MICROS) throw bad('too large');
  return { currency, micros: sign ? -micros : micros };
}

/** `parseMoney` for a `{ amount, currency }` pair. */
export function money(amount: string, currency: string, options?: ParseMoneyOptions): Money {
  return parseMoney(amount, currency, options);
}

/** Formats micro-units as a decimal string with the currency's decimals, plus any sub-minor digits. */
export function formatMicros(micros: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / MICROS_PER_UNIT;
  const fraction = (abs % MICROS_PER_UNIT).toString().padStart(MICRO_DIGITS, '0');
  let digits = fraction.replace(/0+$/, '');
  if (digits.length < exponent) digits = digits.padEnd(exponent, '0');
  return `${negative ? '-' : ''}${whole}${digits ? `.${digits}` : ''}`;
}

export function formatMoney(value: Money): string {
  return formatMicros(value.micros, value.currency);
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency)
    throw new StrataError('E_CURRENCY_MISMATCH', `cannot mix ${a.currency} and ${b.currency}`, {
      currencies: [a.currency, b.currency],
    });
}

export function addMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { currency: a.currency, micros: a.micros + b.micros };
}

export function subtractMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { currency: a.currency, micros: a.micros - b.micros };
}

export function compareMoney(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b);
  return a.micros < b.micros ? -1 : a.micros > b.micros ? 1 : 0;
}

/** A store BIGINT (number on both drivers, or a string from SUM/CAST) as a bigint, exactly. */
export function toBig(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new StrataError('E_INTERNAL', `unsafe integer ${value} in ledger`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return BigInt(value);
  if (value === null || value === undefined) return 0n;
  throw new StrataError('E_INTERNAL', `not an integer: ${typeof value}`);
}

/** Micro-units as a number for the kernel's hook contract (checked to be exact). */
export function microsToNumber(micros: bigint): number {
  if (micros > MAX_MICROS || micros < -MAX_MICROS)
    throw new StrataError('E_INVALID_MONEY', 'amount out of range', { amount: micros.toString() });
  return Number(micros);
}

/** Parses a non-negative decimal quantity (meter events) into micro-units of the unit, exactly. */
export function parseQuantity(quantity: unknown): bigint {
  const bad = (reason: string): StrataError =>
    new StrataError('E_INVALID_QUANTITY', `invalid quantity: ${reason}`, {
      quantity: typeof quantity === 'string' ? quantity.slice(0, 64) : typeof quantity,
      reason,
    });
  if (typeof quantity !== 'string') throw bad('quantities are decimal strings');
  const match = DECIMAL.exec(quantity);
  if (!match) throw bad('not a decimal number');
  const [, sign = '', whole = '0', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (sign && (whole !== '0' || significant)) throw bad('negative');
  if (significant.length > MICRO_DIGITS) throw bad(`at most ${MICRO_DIGITS} decimals`);
  if (whole.length > 16) throw bad('too large');
  const micros = BigInt(whole) * MICROS_PER_UNIT + BigInt(significant.padEnd(MICRO_DIGITS, '0') || '0');
  if (micros > MAX_MICROS) throw bad('too large');
  return micros;
}

/** A scaled integer as a decimal string with up to `digits` decimals (trailing zeros trimmed). */
export function formatScaled(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const fraction = (abs % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / scale}${fraction ? `.${fraction}` : ''}`;
}
