/**
 * @module cli/output
 * How every command speaks. With `--json` a command prints exactly one JSON document on stdout (its
 * result, or `{"error":{code,message,data}}`), so scripts can pipe it to `jq` without scraping; without
 * it, people get aligned tables and sentences. Remarks meant only for people (hints, "shown once"
 * warnings) go to stderr so they never pollute a parsed stdout.
 *
 * @example
 * const out = createOutput(json);
 * out.result({ tenants }, () => table(['ID', 'NAME'], tenants.map((t) => [t.id, t.name])));
 */
import { inspect } from 'node:util';
import { coerceError } from '../kernel/errors.ts';

export interface Output {
  readonly json: boolean;
  /** Prints a result: `data` as one JSON document with --json, else the text `human()` builds. */
  result(data: unknown, human: () => string): void;
  /** A remark for people, on stderr; suppressed with --json. */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(data, human) {
      const text = json ? JSON.stringify(data) : human();
      if (text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Milliseconds since the epoch as ISO 8601, or `-` for "never". */
export function when(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

/** `syscall on resource` for each grant, comma-separated. */
export function grantList(grants: readonly { syscall: string; resource: string }[]): string {
  return grants.map((g) => (g.resource === '*' ? g.syscall : `${g.syscall}@${g.resource}`)).join(', ');
}

function issuesOf(data: unknown): { path: string; message: string }[] {
  if (typeof data !== 'object' || data === null) return [];
  const issues = (data as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as { path: string; message: string }[]) : [];
}

/**
 * Prints an error and returns the exit code it maps to (the kernel's EXIT table). Messages and data
 * come from StrataError, whose codes never carry secrets; the cause (which might) is printed only
 * when STRATA_DEBUG is set, for whoever is debugging Strata itself.
 */
export function reportError(error: unknown, json: boolean): number {
  const failure = coerceError(error);
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: failure.toJSON() })}\n`);
  } else {
    process.stderr.write(`error [${failure.code}]: ${failure.message}\n`);
    for (const issue of issuesOf(failure.data)) {
      process.stderr.write(`  ${issue.path || '(input)'}: ${issue.message}\n`);
    }
  }
  if (process.env['STRATA_DEBUG'] && failure.cause !== undefined) {
    process.stderr.write(`${inspect(failure.cause)}\n`);
  }
  return failure.exitCode;
}
