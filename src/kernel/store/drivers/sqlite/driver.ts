/**
 * @module kernel/store/drivers/sqlite/driver
 * The synchronous core of the SQLite driver: one better-sqlite3 connection, a cache of prepared
 * statements keyed by SQL text, and the mapping of SQLite errors to kernel codes. Everything here is
 * on the syscall hot path, so a cached call is one Map lookup, one scan of the params and the native
 * call: no SQL rewriting (better-sqlite3 binds `?` natively) and no allocation beyond the result.
 */
import type Database from 'better-sqlite3';
import { isStrataError, StrataError } from '../../../errors.ts';
import type { Row, RunResult, SqlValue } from '../../store.ts';
import { BoundedCache } from '../shared/bounded-cache.ts';
import { bindable } from '../shared/params.ts';

type Statement = Database.Statement<SqlValue[], Row>;

/** Enough for every statement a process runs in steady state, bounded for dynamically built SQL. */
const MAX_CACHED_STATEMENTS = 500;

const CONTROL_STATEMENTS = new Set(['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK']);

export class SqliteConnection {
  readonly #db: Database.Database;
  readonly #statements = new BoundedCache<Statement>(MAX_CACHED_STATEMENTS);

  constructor(db: Database.Database) {
    this.#db = db;
  }

  all(sql: string, params: readonly SqlValue[]): Row[] {
    try {
      const statement = this.#prepare(sql);
      // `.all()` throws on statements that return no data, so pick by `.reader` (true for RETURNING too).
      if (statement.reader) return statement.all(...bindable(params));
      statement.run(...bindable(params));
      return [];
    } catch (error) {
      throw toStoreError(error);
    }
  }

  get(sql: string, params: readonly SqlValue[]): Row | undefined {
    try {
      const statement = this.#prepare(sql);
      if (statement.reader) return statement.get(...bindable(params));
      statement.run(...bindable(params));
      return undefined;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  run(sql: string, params: readonly SqlValue[]): RunResult {
    try {
      return { changes: this.#prepare(sql).run(...bindable(params)).changes };
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** Runs SQL that may hold several statements and takes no params (migrations, BEGIN/COMMIT). */
  exec(sql: string): void {
    try {
      // BEGIN/COMMIT/ROLLBACK run once per transaction: prepared once, they skip the parser.
      if (CONTROL_STATEMENTS.has(sql)) this.#prepare(sql).run();
      else this.#db.exec(sql);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  close(): void {
    this.#db.close();
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare<SqlValue[], Row>(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** SQLite result codes after which the same call may succeed once the other writer is done. */
const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED']);

/**
 * Maps a better-sqlite3 error to E_CONFLICT or E_STORE, keeping it on `cause`. SQLite messages name
 * tables and columns but never bound values, so they are safe to show (bound values may be secrets).
 */
export function toStoreError(error: unknown): StrataError {
  if (isStrataError(error)) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: t.a, t.b" → "t.a, t.b"
    const constraint = message.replace(/^UNIQUE constraint failed: /, '');
    return new StrataError(
      'E_CONFLICT',
      `duplicate value for unique ${constraint}`,
      { constraint },
      { cause: error },
    );
  }
  return new StrataError(
    'E_STORE',
    `sqlite: ${message}`,
    { driverCode: code },
    { cause: error, retryable: code !== undefined && RETRYABLE.has(code) },
  );
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
