/**
 * @module kernel/store
 * One small interface over SQL, implemented by two real drivers: SQLite (better-sqlite3, WAL) for the
 * embedded default and PostgreSQL (pg, pooled) for scale-out. Every layer keeps its own schema as
 * versioned migrations with the same logical schema on both engines.
 *
 * Glossary
 * - **Dialect**: `sqlite` or `postgres`. SQL is written once with `?` placeholders; the PostgreSQL
 *   driver rewrites them to `$1…$n` (outside quoted strings). Where the engines differ, a migration
 *   or a query branches on `store.dialect`.
 * - **Portable column types** (the conformance suite pins them): `TEXT`; `BIGINT` for integers and
 *   timestamps (epoch milliseconds), returned as JS `number` on both (values up to 2^53−1); booleans
 *   as `INTEGER` 0/1; JSON as `TEXT` (the caller stringifies and parses); bytes as `BLOB`/`BYTEA`
 *   (returned as `Buffer`).
 * - **Conflict**: a unique or primary-key violation surfaces as `StrataError('E_CONFLICT')` with the
 *   driver error on `cause`; any other driver failure as `E_STORE`.
 * - **Transaction**: `store.transaction(fn)` runs `fn` with a handle bound to one connection; it
 *   commits when `fn` resolves and rolls back when it throws. On SQLite transactions are serialised
 *   (one writer); on PostgreSQL they run concurrently on pooled clients at READ COMMITTED.
 *   `tx.afterCommit(hook)` runs `hook` after the commit (not after a rollback).
 */

export type Dialect = 'sqlite' | 'postgres';

/** A value that can be bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | boolean | null | Buffer | Uint8Array;

export type Row = Record<string, unknown>;

export interface RunResult {
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  readonly changes: number;
}

/** What both a store and a transaction handle can do. */
export interface Queryable {
  readonly dialect: Dialect;
  /** Runs a statement and returns its rows (empty for statements without RETURNING). */
  all<TRow extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<TRow[]>;
  /** The first row, or `undefined`. */
  get<TRow extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<TRow | undefined>;
  /** Runs a statement for its effect. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
}

export interface Transaction extends Queryable {
  /** Inside a transaction `transaction()` nests with a SAVEPOINT. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Runs `hook` once the outermost transaction has committed; never if it (or the savepoint the
   * hook was registered in) rolls back. For work that must only follow committed data, such as
   * waking readers of what the transaction wrote. The hook must not throw.
   */
  afterCommit(hook: () => void): void;
}

export interface Store extends Queryable {
  readonly name: string;
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Applies the layer's pending migrations in order, each in its own transaction. Idempotent;
   *  safe when several processes start at once (PostgreSQL takes an advisory lock). */
  migrate(layer: string, migrations: readonly Migration[]): Promise<MigrationReport>;
  /** Closes connections; in-flight work finishes first. Stop listeners before closing. */
  close(): Promise<void>;
  /**
   * Cross-process wake-ups (PostgreSQL LISTEN on a dedicated connection). Senders use
   * `SELECT pg_notify(?, ?)`, which inside a transaction is delivered only on commit. Absent on
   * SQLite, which serves one process. Returns the function that stops listening. A lost
   * connection is re-established with backoff; since notifications sent meanwhile are lost,
   * `onMessage('')` is called once after each reconnect (treat it as "look again").
   */
  listen?(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Short statements that must not queue behind a busy pool, such as lease renewals: a worker
   * whose every pooled connection waits on a lock must still heartbeat, or its leases lapse and
   * its runs are executed twice. PostgreSQL gives it a connection of its own; absent means use
   * the store itself (SQLite has one connection and no pool to wait for).
   */
  readonly urgent?: Queryable;
}

export interface Migration {
  /** 1, 2, 3 … with no gaps; never renumber a released migration. */
  readonly version: number;
  readonly name: string;
  /** One or more statements separated by `;`. A string is used for both dialects. */
  readonly up: string | { readonly sqlite: string; readonly postgres: string };
}

export interface MigrationReport {
  readonly layer: string;
  readonly applied: readonly number[];
  readonly current: number;
}

/** `SELECT … FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transactions are exclusive. */
export function forUpdate(q: Queryable): string {
  return q.dialect === 'postgres' ? ' FOR UPDATE' : '';
}

/** The SQL text of a migration for a dialect. */
export function migrationSql(migration: Migration, dialect: Dialect): string {
  return typeof migration.up === 'string' ? migration.up : migration.up[dialect];
}
