/**
 * @module kernel/store/drivers/sqlite
 * The embedded default store: SQLite through better-sqlite3 in WAL mode. better-sqlite3 is
 * synchronous, which makes a single statement very cheap (the syscall hot path runs here), but it
 * has one connection: an open `transaction(fn)` owns it until `fn` settles, and other callers queue
 * behind it in a FIFO mutex. When nothing is open, calls run at once without touching the lock.
 *
 * @example
 * const store = await createSqliteStore({ path: '.strata/strata.db' });
 * await store.run('INSERT INTO notes (id, body) VALUES (?, ?)', [id, body]);
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StrataError } from '../../../errors.ts';
import type {
  Migration,
  MigrationReport,
  Row,
  RunResult,
  SqlValue,
  Store,
  Transaction,
} from '../../store.ts';
import { runMigrations } from '../shared/migrate.ts';
import { NO_PARAMS } from '../shared/params.ts';
import { TxScope } from '../shared/transaction-scope.ts';
import { SqliteConnection, toStoreError } from './driver.ts';
import { Mutex } from './mutex.ts';
import { SqliteTransaction, topLevelOps } from './transaction.ts';

export interface SqliteStoreOptions {
  /** A file path (parent directories are created) or `:memory:`. */
  path: string;
  /** How long a statement waits for another process's write lock before SQLITE_BUSY. @default 5000 */
  busyTimeoutMs?: number;
}

/** Opens the database, creating the file and its parent directories if needed. */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  try {
    if (options.path !== ':memory:' && options.path !== '') {
      await mkdir(dirname(options.path), { recursive: true });
    }
    return new SqliteStore(openDatabase(options), options.path);
  } catch (error) {
    throw toStoreError(error);
  }
}

function openDatabase(options: SqliteStoreOptions): Database.Database {
  const db = new Database(options.path);
  try {
    db.pragma('journal_mode = WAL'); // readers never block the writer; stays 'memory' for :memory:
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL survives application crashes; FULL only adds fsyncs
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly name = 'sqlite';
  readonly path: string;
  readonly #conn: SqliteConnection;
  readonly #lock = new Mutex();
  /** The transaction whose `fn` is running, to catch a call on the store from inside it (a deadlock). */
  readonly #current = new AsyncLocalStorage<TxScope>();
  #accepting = true;
  #closing: Promise<void> | undefined;

  /** Use {@link createSqliteStore}; this takes an already configured database. */
  constructor(db: Database.Database, path: string) {
    this.path = path;
    this.#conn = new SqliteConnection(db);
  }

  // The hot path: with the connection free, run synchronously now (no lock, no tick, no closure).
  async all<TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<TRow[]> {
    if (this.#free) return this.#conn.all(sql, params) as TRow[];
    return await this.#queued('all', () => this.#conn.all(sql, params) as TRow[]);
  }

  async get<TRow extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = NO_PARAMS,
  ): Promise<TRow | undefined> {
    if (this.#free) return this.#conn.get(sql, params) as TRow | undefined;
    return await this.#queued('get', () => this.#conn.get(sql, params) as TRow | undefined);
  }

  async run(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<RunResult> {
    if (this.#free) return this.#conn.run(sql, params);
    return await this.#queued('run', () => this.#conn.run(sql, params));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#transaction(fn);
  }

  /** SQLite needs no extra lock: BEGIN IMMEDIATE already excludes every other writer, in any process. */
  migrate(layer: string, migrations: readonly Migration[]): Promise<MigrationReport> {
    return runMigrations({ dialect: 'sqlite', exclusive: (fn) => this.#transaction(fn) }, layer, migrations);
  }

  /** Waits for the open transaction and every queued call, then closes. Idempotent. */
  async close(): Promise<void> {
    this.#assertNotInsideTransaction('close');
    this.#accepting = false;
    this.#closing ??= (async () => {
      await this.#lock.acquire(); // behind the open transaction and every call queued before close()
      try {
        this.#conn.close();
      } finally {
        this.#lock.release();
      }
    })();
    await this.#closing;
  }

  #transaction<T>(fn: (tx: SqliteTransaction) => Promise<T>): Promise<T> {
    return this.#queued('transaction', () => {
      const scope = new TxScope(0);
      const tx = new SqliteTransaction(this.#conn, scope);
      return this.#current.run(scope, () => scope.run(tx, fn, topLevelOps(this.#conn)));
    });
  }

  /** No transaction holds the connection and the store is open. */
  get #free(): boolean {
    return !this.#lock.held && this.#accepting;
  }

  async #queued<R>(method: string, op: () => R | Promise<R>): Promise<R> {
    if (!this.#accepting) throw new StrataError('E_STORE', 'the store is closed');
    this.#assertNotInsideTransaction(method);
    await this.#lock.acquire();
    try {
      return await op();
    } finally {
      this.#lock.release();
    }
  }

  #assertNotInsideTransaction(method: string): void {
    if (this.#current.getStore()?.open === true) {
      throw new StrataError(
        'E_STORE',
        `store.${method}() called inside store.transaction() would wait for that transaction forever; use the tx handle passed to fn`,
      );
    }
  }
}
