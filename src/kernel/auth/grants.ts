/**
 * @module kernel/auth/grants
 * Grants: what a capability allows. A grant names a syscall pattern, a resource pattern and optional
 * constraints. Matching is segment-aware so that `memory/crypto/*` can never match
 * `memory/cryptocurrency/x` (the classic string-prefix bug): syscall names split on `.`, resources
 * on `/`.
 *
 * Pattern grammar: one or more non-empty literal segments, optionally ending in a whole `*` segment
 * that stands for "one or more further segments" (`kernel.*` matches `kernel.echo` and
 * `kernel.audit.verify`, not `kernel` itself nor `kernelx.echo`); a lone `*` matches every value.
 * `*` anywhere else (`a.*.b`, `kern*`) and empty segments (`a..b`, `a.`) are invalid, so a grant
 * always means exactly what it reads as. A value with an empty segment matches only `*`.
 */
import { z } from 'zod';
import { StrataError } from '../errors.ts';

/** `.` for syscall names, `/` for resources. */
export type Separator = '.' | '/';

export interface GrantConstraints {
  /** Top-level input fields the call must carry with exactly these values. */
  input?: Record<string, string | number | boolean>;
  /** The largest cost estimate (micro-units of currency) a single call may have. */
  maxCostMicros?: number;
}

export interface Grant {
  syscall: string;
  resource: string;
  constraints?: GrantConstraints;
}

/** What a syscall asks to do; the pipeline builds it after validating the input. */
export interface CallRequest {
  syscall: string;
  resource: string;
  input?: unknown;
  /** The call's cost estimate. Unknown cost never satisfies a grant that caps cost. */
  costMicros?: number;
}

const MAX_PATTERN_LENGTH = 512;

interface Pattern {
  /** Literal segments (for a wildcard pattern, the prefix before `*`). */
  readonly segments: readonly string[];
  readonly wildcard: boolean;
}

function patternProblem(pattern: string, sep: Separator): string | undefined {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH)
    return `must be 1-${MAX_PATTERN_LENGTH} chars`;
  const segments = pattern.split(sep);
  if (segments.some((s) => s === '')) return `has an empty "${sep}" segment`;
  const starAt = segments.findIndex((s) => s.includes('*'));
  if (starAt !== -1 && (starAt !== segments.length - 1 || segments[starAt] !== '*')) {
    return `may use "*" only as its whole last segment`;
  }
  return undefined;
}

function parsePattern(pattern: string, sep: Separator): Pattern {
  const problem = patternProblem(pattern, sep);
  if (problem !== undefined) {
    throw new StrataError('E_INVALID_INPUT', `invalid pattern "${pattern}": ${problem}`, { pattern });
  }
  const segments = pattern.split(sep);
  const wildcard = segments[segments.length - 1] === '*';
  return { segments: wildcard ? segments.slice(0, -1) : segments, wildcard };
}

function startsWith(whole: readonly string[], prefix: readonly string[]): boolean {
  return prefix.every((segment, i) => whole[i] === segment);
}

/** Whether `value` (a syscall name or resource) matches `pattern`. Throws E_INVALID_INPUT on a bad pattern. */
export function matches(pattern: string, value: string, sep: Separator): boolean {
  const p = parsePattern(pattern, sep);
  if (!p.wildcard) return value === pattern;
  if (p.segments.length === 0) return true;
  const segments = value.split(sep);
  if (segments.some((s) => s === '')) return false;
  return segments.length > p.segments.length && startsWith(segments, p.segments);
}

/** Whether every value matched by `child` is also matched by `parent`. */
export function patternCovers(parent: string, child: string, sep: Separator): boolean {
  const p = parsePattern(parent, sep);
  const c = parsePattern(child, sep);
  if (!p.wildcard) return !c.wildcard && parent === child;
  if (!c.wildcard) return matches(parent, child, sep);
  // Both wildcards: the child's prefix must extend (or equal) the parent's.
  return c.segments.length >= p.segments.length && startsWith(c.segments, p.segments);
}

/** Whether `child` allows nothing that `parent` does not: patterns covered, constraints as strict. */
export function grantCovers(parent: Grant, child: Grant): boolean {
  if (!patternCovers(parent.syscall, child.syscall, '.')) return false;
  if (!patternCovers(parent.resource, child.resource, '/')) return false;
  const parentInput = parent.constraints?.input ?? {};
  const childInput = child.constraints?.input ?? {};
  for (const [key, value] of Object.entries(parentInput)) {
    if (!Object.hasOwn(childInput, key) || childInput[key] !== value) return false;
  }
  const parentMax = parent.constraints?.maxCostMicros;
  const childMax = child.constraints?.maxCostMicros;
  return parentMax === undefined || (childMax !== undefined && childMax <= parentMax);
}

function inputSatisfies(required: GrantConstraints['input'], input: unknown): boolean {
  const entries = Object.entries(required ?? {});
  if (entries.length === 0) return true;
  if (typeof input !== 'object' || input === null) return false;
  const record = input as Record<string, unknown>;
  // Own properties only, so `toString` or a polluted prototype can never satisfy a constraint.
  return entries.every(([key, value]) => Object.hasOwn(record, key) && record[key] === value);
}

/** The first grant that allows `call`, or `undefined` (deny by default). */
export function findGrant(grants: readonly Grant[], call: CallRequest): Grant | undefined {
  return grants.find((grant) => {
    if (!matches(grant.syscall, call.syscall, '.') || !matches(grant.resource, call.resource, '/'))
      return false;
    if (!inputSatisfies(grant.constraints?.input, call.input)) return false;
    const max = grant.constraints?.maxCostMicros;
    return max === undefined || (call.costMicros !== undefined && call.costMicros <= max);
  });
}

const patternSchema = (sep: Separator) =>
  z.string().superRefine((value, ctx) => {
    const problem = patternProblem(value, sep);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid pattern: ${problem}` });
  });

/**
 * Validates one grant, pattern syntax included. Unknown keys are refused: a misspelt `constraints`
 * would otherwise be dropped and silently grant more than its author meant.
 */
export const grantSchema = z.strictObject({
  syscall: patternSchema('.'),
  resource: patternSchema('/'),
  constraints: z
    .strictObject({
      input: z.record(z.string().min(1).max(128), z.union([z.string(), z.number(), z.boolean()])).optional(),
      maxCostMicros: z.number().int().nonnegative().optional(),
    })
    .optional(),
});

/** A grant list as stored on keys and tokens; bounded so a token stays small. */
export const grantsSchema = z.array(grantSchema).max(64);

/** Freezes grants deeply: grants on cached principals and claims are shared, so nobody may mutate them. */
export function freezeGrants(grants: readonly Grant[]): readonly Grant[] {
  for (const grant of grants) {
    if (grant.constraints?.input) Object.freeze(grant.constraints.input);
    if (grant.constraints) Object.freeze(grant.constraints);
    Object.freeze(grant);
  }
  return Object.freeze(grants);
}

/** Parses grants from untrusted input; E_INVALID_INPUT lists the failing paths. */
export function parseGrants(value: unknown): Grant[] {
  const result = grantsSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new StrataError('E_INVALID_INPUT', 'invalid grants', { issues });
  }
  return result.data;
}
