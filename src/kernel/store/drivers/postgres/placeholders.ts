/**
 * @module kernel/store/drivers/postgres/placeholders
 * Turns the portable `?` placeholders into PostgreSQL's `$1…$n`. A `?` counts only in plain SQL
 * text, never inside a string literal ('…', E'…' with backslash escapes, $tag$…$tag$), a quoted
 * identifier ("…") or a comment (-- and nested /* … *\/), so `WHERE note = 'why?'` keeps its `?`.
 * The jsonb operators `?`, `?|` and `?&` therefore cannot be written literally; use the functions
 * `jsonb_exists`, `jsonb_exists_any` and `jsonb_exists_all` instead.
 *
 * A plain character scan rather than a regex: one pass, no backtracking, and rewrites are cached
 * per SQL text so each distinct statement is scanned once per process.
 */
import { BoundedCache } from '../shared/bounded-cache.ts';

const cache = new BoundedCache<string>(1000);

/** The SQL with `?` placeholders numbered `$1…$n`; cached. */
export function toPositional(sql: string): string {
  let rewritten = cache.get(sql);
  if (rewritten === undefined) {
    rewritten = rewritePlaceholders(sql);
    cache.set(sql, rewritten);
  }
  return rewritten;
}

export function rewritePlaceholders(sql: string): string {
  if (!sql.includes('?')) return sql;
  let out = '';
  let copiedUpTo = 0;
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === '?') {
      out += `${sql.slice(copiedUpTo, i)}$${++n}`;
      copiedUpTo = i + 1;
    } else if (c === "'") {
      i = skipQuoted(sql, i, "'", isEscapeString(sql, i));
    } else if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === '$' && !isIdentifierChar(sql[i - 1])) {
      i = skipDollarQuoted(sql, i);
    }
  }
  return out + sql.slice(copiedUpTo);
}

/** Index of the closing quote; a doubled quote is an escaped quote and does not close. */
function skipQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i++;
    else if (c === quote) {
      if (sql[i + 1] !== quote) return i;
      i++;
    }
  }
  return sql.length;
}

/** E'…' (or e'…') strings treat backslash as an escape; a plain '…' does not. */
function isEscapeString(sql: string, quoteAt: number): boolean {
  const prefix = sql[quoteAt - 1];
  return (prefix === 'E' || prefix === 'e') && !isIdentifierChar(sql[quoteAt - 2]);
}

/** PostgreSQL block comments nest. */
function skipBlockComment(sql: string, start: number): number {
  let depth = 0;
  for (let i = start; i < sql.length - 1; i++) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i++;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i++;
      if (depth === 0) return i;
    }
  }
  return sql.length;
}

/** `$tag$ … $tag$` with an optional tag; a `$` that opens no such quote (e.g. `$1`) is left alone. */
function skipDollarQuoted(sql: string, start: number): number {
  const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64))?.[0];
  if (tag === undefined) return start;
  const end = sql.indexOf(tag, start + tag.length);
  return end === -1 ? sql.length : end + tag.length - 1;
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}
