import assert from 'node:assert/strict';
import { it } from 'node:test';
import { withCode } from '../../testkit/stores.ts';
import { droppedStatement, failingStatement, holds, parsePolicy, type Statement } from './policy.ts';

const subject = {
  args: { amount: 42, to: 'ops@example.com', tags: ['a', 'b'], items: [{ n: 1 }, { n: 5 }], 'odd key': true },
};
const check = (s: unknown): boolean => holds(parsePolicy([s])[0] as Statement, subject);

it('evaluates comparisons, globs, quantifiers and selectors', () => {
  const yes: unknown[] = [
    ['==', '.args.amount', 42],
    ['!=', '.args.to', 'boss@example.com'],
    ['>=', '.args.amount', 42],
    ['like', '.args.to', '*@example.com'],
    ['==', '.args.tags[-1]', 'b'],
    ['==', '.args["odd key"]', true],
    ['==', '.args.missing?', null],
    ['all', '.args.items', ['>', '.n', 0]],
    ['any', '.args.items', ['==', '.n', 5]],
    ['not', ['==', '.args.amount', 1]],
    [
      'or',
      [
        ['==', '.args.amount', 1],
        ['<', '.args.amount', 100],
      ],
    ],
    ['and', []],
  ];
  const no: unknown[] = [
    ['<', '.args.amount', 42],
    ['<', '.args.to', 100], // not a number
    ['like', '.args.to', '*@example.co'],
    ['like', '.args.to', 'ops\\*'], // an escaped star is literal
    ['==', '.args.missing', null], // missing without ? fails
    ['all', '.args.items', ['>', '.n', 1]],
    ['any', '.args.to', ['==', '.', 'o']], // not an array
    ['or', []],
  ];
  for (const s of yes) assert.equal(check(s), true, JSON.stringify(s));
  for (const s of no) assert.equal(check(s), false, JSON.stringify(s));
  assert.deepEqual(
    failingStatement(
      parsePolicy([
        ['==', '.args.amount', 42],
        ['>', '.args.amount', 50],
      ]),
      subject,
    ),
    ['>', '.args.amount', 50],
  );
});

it('refuses malformed policies and only lets a child add statements', () => {
  for (const bad of [
    {},
    [['=~', '.a', 1]],
    [['<', '.a', '1']],
    [['==', 'a', 1]],
    [['like', '.a', 3]],
    [['and', 'x']],
  ]) {
    assert.throws(() => parsePolicy(bad), withCode('E_DELEGATION_MALFORMED'), JSON.stringify(bad));
  }
  const parent = parsePolicy([['<=', '.args.amount', 100]]);
  assert.equal(
    droppedStatement(
      parent,
      parsePolicy([
        ['like', '.args.to', '*'],
        ['<=', '.args.amount', 100],
      ]),
    ),
    undefined,
  );
  assert.deepEqual(droppedStatement(parent, parsePolicy([['<=', '.args.amount', 1000]])), [
    '<=',
    '.args.amount',
    100,
  ]);
  // A glob with many stars on a long string stays fast (no regex backtracking).
  const started = performance.now();
  holds(parsePolicy([['like', '.s', `${'*a'.repeat(30)}b`]])[0] as Statement, { s: 'a'.repeat(5000) });
  assert.ok(performance.now() - started < 500);
});
