/**
 * @module cli/parse
 * Parsers for option values (commander `argParser`s). A bad value throws commander's
 * InvalidArgumentError, so it is reported as a usage error (exit 2) naming the option, before any
 * database is opened.
 */
import { InvalidArgumentError } from 'commander';
import { parseGrants, type Grant } from '../kernel/auth/grants.ts';
import { isStrataError } from '../kernel/errors.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses `<syscall>[@<resource>]` into a grant; the resource defaults to `*`. Splits at the first `@`
 * because syscall patterns never contain one, while resources may.
 */
export function parseGrant(spec: string): Grant {
  const at = spec.indexOf('@');
  const grant =
    at === -1
      ? { syscall: spec, resource: '*' }
      : { syscall: spec.slice(0, at), resource: spec.slice(at + 1) };
  try {
    return parseGrants([grant])[0] as Grant;
  } catch (error) {
    const issue = isStrataError(error)
      ? (error.data as { issues?: { message: string }[] }).issues?.[0]
      : undefined;
    throw new InvalidArgumentError(
      `"${spec}" is not <syscall>[@<resource>]: ${issue?.message ?? 'invalid grant'}`,
    );
  }
}

/** Accumulates a repeatable `--grant` into a list. */
export function collectGrant(spec: string, previous: Grant[] | undefined): Grant[] {
  return [...(previous ?? []), parseGrant(spec)];
}

/** Parses a lifetime: `3600` (seconds), `45s`, `30m`, `1h` or `7d`; returns seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNITS[match[2] || 's'] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new InvalidArgumentError('expected a positive duration such as 3600, 30m, 1h or 7d');
  }
  return seconds;
}

/** Parses a non-negative integer option (ports, byte counts). */
export function parseInteger(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(text);
}

/** Parses an integer that may be negative (priorities). */
export function parseSignedInteger(text: string): number {
  const value = Number(text.trim());
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError('expected an integer');
  }
  return value;
}
