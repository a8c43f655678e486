/**
 * @module identity/delegation/policy
 * A subset of the UCAN 1.0 policy language: a policy is a list of statements, all of which must hold
 * for the invocation. Statements:
 *
 * - `["==", sel, value]`, `["!=", sel, value]` (deep equality over JSON)
 * - `["<", sel, n]`, `["<=", sel, n]`, `[">", sel, n]`, `[">=", sel, n]` (numbers only)
 * - `["like", sel, "glob"]` (`*` matches any run of characters, `\*` a literal star; strings only)
 * - `["not", stmt]`, `["and", [stmt…]]`, `["or", [stmt…]]`
 * - `["all", sel, stmt]`, `["any", sel, stmt]` (over the elements of an array)
 *
 * Selectors are jq-like: `.`, `.name`, `[0]`, `[-1]`, `["key"]`, each segment optionally followed by
 * `?` (a missing value is then `null` instead of failing the statement). Unlike UCAN 1.0, selectors
 * start at the invocation (`{ args }`), so the amount argument is `.args.amount`.
 *
 * A selection that is missing (without `?`) or of the wrong type makes its statement false, never an
 * error: the policy is a guard, and a guard that cannot be evaluated refuses. `or []` is false.
 */
import canonicalizeModule from 'canonicalize';
import { StrataError } from '../../kernel/index.ts';

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string;

export type Statement = readonly [string, ...unknown[]];
export type Policy = readonly Statement[];

type Segment = { readonly key: string | number; readonly optional: boolean };

const MAX_NODES = 256;
const MAX_DEPTH = 16;
const SEGMENT = /^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\.?\[(-?\d{1,9})\]|\.?\["((?:[^"\\]|\\.)*)"\])(\?)?/;

function malformed(message: string): StrataError {
  return new StrataError('E_DELEGATION_MALFORMED', `invalid policy: ${message}`, { field: 'pol' });
}

/** Parses a selector into segments; E_DELEGATION_MALFORMED if it is not one. */
export function parseSelector(selector: unknown): readonly Segment[] {
  if (typeof selector !== 'string' || selector.length === 0 || selector.length > 200 || selector[0] !== '.') {
    throw malformed(`selector ${JSON.stringify(selector)} must start with "."`);
  }
  if (selector === '.') return [];
  const segments: Segment[] = [];
  let rest = selector;
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (m === null) throw malformed(`selector ${JSON.stringify(selector)} is not .name, [n] or ["key"]`);
    const key = m[1] ?? (m[2] === undefined ? (JSON.parse(`"${m[3] ?? ''}"`) as string) : Number(m[2]));
    segments.push({ key, optional: m[4] === '?' });
    rest = rest.slice(m[0].length);
  }
  return segments;
}

const COMPARE = new Set(['<', '<=', '>', '>=']);

/** Validates a policy's shape (operators, selectors, arity, size); returns it unchanged. */
export function parsePolicy(policy: unknown): Policy {
  if (!Array.isArray(policy)) throw malformed('a policy is a list of statements');
  let nodes = 0;
  const check = (s: unknown, depth: number): void => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) throw malformed('too large or too deep');
    if (!Array.isArray(s) || typeof s[0] !== 'string') throw malformed('a statement is ["op", …]');
    const [op, a, b] = s as [string, unknown, unknown];
    const arity = (n: number): void => {
      if (s.length !== n) throw malformed(`"${op}" takes ${n - 1} operands`);
    };
    if (op === '==' || op === '!=' || op === 'like' || COMPARE.has(op)) {
      arity(3);
      parseSelector(a);
      if (COMPARE.has(op) && (typeof b !== 'number' || !Number.isFinite(b)))
        throw malformed(`"${op}" needs a number`);
      if (op === 'like' && typeof b !== 'string') throw malformed('"like" needs a glob string');
    } else if (op === 'not') {
      arity(2);
      check(a, depth + 1);
    } else if (op === 'and' || op === 'or') {
      arity(2);
      if (!Array.isArray(a)) throw malformed(`"${op}" takes a list of statements`);
      for (const inner of a) check(inner, depth + 1);
    } else if (op === 'all' || op === 'any') {
      arity(3);
      parseSelector(a);
      check(b, depth + 1);
    } else {
      throw malformed(`unknown operator ${JSON.stringify(op).slice(0, 40)}`);
    }
  };
  for (const statement of policy) check(statement, 0);
  return policy as Policy;
}

const MISSING = Symbol('missing');

function select(value: unknown, selector: string): unknown {
  let current = value;
  for (const { key, optional } of parseSelector(selector)) {
    let next: unknown = MISSING;
    if (typeof key === 'number' && Array.isArray(current)) {
      const index = key < 0 ? current.length + key : key;
      if (index >= 0 && index < current.length) next = current[index];
    } else if (
      typeof key === 'string' &&
      typeof current === 'object' &&
      current !== null &&
      !Array.isArray(current)
    ) {
      if (Object.hasOwn(current, key)) next = (current as Record<string, unknown>)[key];
    }
    if (next === MISSING) {
      if (!optional) return MISSING;
      return null;
    }
    current = next;
  }
  return current;
}

/** Glob match with `*` and `\\*`, greedy two-pointer (linear backtracking, no regex: globs come from tokens). */
function globMatches(glob: string, text: string): boolean {
  const parts: { literal: string; star: boolean }[] = [];
  for (let i = 0; i < glob.length; i++) {
    const escaped = glob[i] === '\\' && glob[i + 1] === '*';
    if (escaped) i++;
    parts.push({ literal: glob[i] as string, star: !escaped && glob[i] === '*' });
  }
  let p = 0;
  let t = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const part = parts[p];
    if (part !== undefined && !part.star && part.literal === text[t]) {
      p++;
      t++;
    } else if (part?.star === true) {
      starAt = p++;
      resumeAt = t;
    } else if (starAt >= 0) {
      p = starAt + 1;
      t = ++resumeAt;
    } else return false;
  }
  while (parts[p]?.star === true) p++;
  return p === parts.length;
}

const same = (a: unknown, b: unknown): boolean => canonicalize(a) === canonicalize(b);

/** Whether one (already parsed) statement holds for `subject`. */
export function holds(statement: Statement, subject: unknown): boolean {
  const [op, a, b] = statement as [string, unknown, unknown];
  switch (op) {
    case 'not':
      return !holds(a as Statement, subject);
    case 'and':
      return (a as Statement[]).every((s) => holds(s, subject));
    case 'or':
      return (a as Statement[]).some((s) => holds(s, subject));
    default:
      break;
  }
  const value = select(subject, a as string);
  if (value === MISSING) return false;
  switch (op) {
    case '==':
      return same(value, b);
    case '!=':
      return !same(value, b);
    case '<':
      return typeof value === 'number' && value < (b as number);
    case '<=':
      return typeof value === 'number' && value <= (b as number);
    case '>':
      return typeof value === 'number' && value > (b as number);
    case '>=':
      return typeof value === 'number' && value >= (b as number);
    case 'like':
      return typeof value === 'string' && globMatches(b as string, value);
    case 'all':
      return Array.isArray(value) && value.every((v) => holds(b as Statement, v));
    case 'any':
      return Array.isArray(value) && value.some((v) => holds(b as Statement, v));
    default:
      return false; // unreachable for parsed policies: unknown operators refuse
  }
}

/** The first statement of `policy` that does not hold for `subject`, if any. */
export function failingStatement(policy: Policy, subject: unknown): Statement | undefined {
  return policy.find((s) => !holds(s, subject));
}

/**
 * The first statement of `parent` that `child` does not repeat. A child may only add statements:
 * since all statements must hold, a superset can only allow less.
 */
export function droppedStatement(parent: Policy, child: Policy): Statement | undefined {
  const kept = new Set(child.map((s) => canonicalize(s)));
  return parent.find((s) => !kept.has(canonicalize(s)));
}
