import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withCode } from '../../testkit/stores.ts';
import {
  addMoney,
  compareMoney,
  formatMicros,
  formatMoney,
  parseMoney,
  parseQuantity,
  subtractMoney,
} from './money.ts';

describe('money', () => {
  it('parses decimal strings into exact micro-units and formats them back', () => {
    assert.equal(parseMoney('5.00', 'USD').micros, 5_000_000n);
    assert.equal(parseMoney('0.10', 'USD').micros, 100_000n);
    assert.equal(parseMoney('0.1', 'USD').micros, 100_000n);
    assert.equal(parseMoney('1200', 'JPY').micros, 1_200_000_000n);
    assert.equal(parseMoney('1.234', 'KWD').micros, 1_234_000n);
    assert.equal(parseMoney('0.000150', 'USD', { precision: 'micro' }).micros, 150n);
    assert.equal(formatMoney(parseMoney('5', 'USD')), '5.00');
    assert.equal(formatMicros(150n, 'USD'), '0.00015');
    assert.equal(formatMicros(-2_500_000n, 'EUR'), '-2.50');
    assert.equal(formatMicros(7_000_000n, 'JPY'), '7');
  });

  it('adds 0.10 ten times to exactly 1.00 (no binary floating point)', () => {
    let total = parseMoney('0', 'USD');
    for (let i = 0; i < 10; i++) total = addMoney(total, parseMoney('0.10', 'USD'));
    assert.equal(formatMoney(total), '1.00');
    assert.equal(compareMoney(total, parseMoney('1.00', 'USD')), 0);
    assert.equal(formatMoney(subtractMoney(total, parseMoney('0.30', 'USD'))), '0.70');
  });

  it('refuses bad amounts with E_INVALID_MONEY', () => {
    const cases: [unknown, string][] = [
      ['-1.00', 'USD'],
      ['NaN', 'USD'],
      ['Infinity', 'USD'],
      ['-Infinity', 'USD'],
      ['1.001', 'USD'], // too many decimals for USD
      ['1.5', 'JPY'], // JPY has no minor unit
      ['1.0001', 'KWD'],
      ['0.0000001', 'USD'],
      ['1e3', 'USD'],
      ['', 'USD'],
      [' 1.00', 'USD'],
      ['01.00', 'USD'],
      ['1,00', 'USD'],
      ['0x10', 'USD'],
      ['99999999999999999', 'USD'], // beyond 2^53 micro-units
      [0.1, 'USD'], // a JS number is refused outright
      [Number.NaN, 'USD'],
      [null, 'USD'],
    ];
    for (const [amount, currency] of cases)
      assert.throws(
        () => parseMoney(amount, currency),
        withCode('E_INVALID_MONEY'),
        `${String(amount)} ${currency}`,
      );
    assert.throws(() => parseMoney('0.0000001', 'USD', { precision: 'micro' }), withCode('E_INVALID_MONEY'));
    assert.equal(parseMoney('-1.00', 'USD', { allowNegative: true }).micros, -1_000_000n);
  });

  it('refuses unknown and mixed currencies', () => {
    for (const currency of ['XYZ', 'usd', '', 'toString', '__proto__'])
      assert.throws(() => parseMoney('1.00', currency), withCode('E_UNKNOWN_CURRENCY'), currency);
    const usd = parseMoney('1.00', 'USD');
    const eur = parseMoney('1.00', 'EUR');
    assert.throws(() => addMoney(usd, eur), withCode('E_CURRENCY_MISMATCH'));
    assert.throws(() => subtractMoney(usd, eur), withCode('E_CURRENCY_MISMATCH'));
    assert.throws(() => compareMoney(usd, eur), withCode('E_CURRENCY_MISMATCH'));
  });

  it('parses meter quantities exactly and refuses negative or malformed ones', () => {
    assert.equal(parseQuantity('1.5'), 1_500_000n);
    assert.equal(parseQuantity('0'), 0n);
    assert.equal(parseQuantity('-0'), 0n);
    for (const bad of ['-1', '-0.5', 'NaN', 'Infinity', '1.0000001', 'abc', '', 3])
      assert.throws(() => parseQuantity(bad), withCode('E_INVALID_QUANTITY'), String(bad));
  });
});
