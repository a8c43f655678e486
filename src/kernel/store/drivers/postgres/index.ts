/**
 * @module kernel/store/drivers/postgres
 * The scale-out store: PostgreSQL through a `pg.Pool`. Statements outside a transaction go to any
 * pooled client; `transaction(fn)` checks one client out for the whole of `fn`, so transactions run
 * concurrently (READ COMMITTED; use `forUpdate()` for read-modify-write). Migrations take a
 * transaction-scoped advisory lock, so several processes starting at once apply each one once.
 *
 * @example
 * const store = await createPostgresStore({ connectionString: 'postgres://127.0.0.1/strata' });
 * const rows = await store.all('SELECT id FROM notes WHERE tenant_id = ?', [tenantId]);
 */
import type pg from 'pg';
import { StrataError } from '../../../errors.ts';
import type {
  Migration,
  Queryable,
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
import { createPool, query, toStoreError } from './driver.ts';
import { listenOn } from './listener.ts';
import { PostgresTransaction, topLevelOps } from './transaction.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /** Maximum pooled connections. @default 10 */
  poolSize?: number;
}

/** One advisory-lock key for all migrations of all layers: they are rare, and `strata_migrations` is shared. */
const MIGRATION_LOCK_KEY = 0x5354_5241_5441; // "STRATA"

/** Opens the pool and checks the database answers, so a bad URL fails here rather than on first use. */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = createPool(options.connectionString, options.poolSize ?? 10);
  try {
    await query(pool, 'SELECT 1', NO_PARAMS);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresStore(pool, () => createPool(options.connectionString, 1));
}

export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly name = 'postgres';
  readonly #pool: pg.Pool;
  /** Calls and transactions in flight; `close()` waits for them (pg-pool would strand queued ones). */
  #active = 0;
  #drained: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  #urgent: pg.Pool | undefined;
  /** One connection of its own, opened on first use, for statements that must not wait for the pool. */
  readonly urgent: Queryable | undefined;

  /** Use {@link createPostgresStore}; this takes a pool built by `createPool` (and how to make the urgent one). */
  constructor(pool: pg.Pool, urgentPool?: () => pg.Pool) {
    this.#pool = pool;
    const make = urgentPool;
    if (!make) return;
    const send = (sql: string, params: readonly SqlValue[]) =>
      this.#track(() => query((this.#urgent ??= make()), sql, params));
    this.urgent = {
      dialect: 'postgres',
      all: async <TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS) =>
        (await send(sql, params)).rows as TRow[],
      get: async <TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS) =>
        (await send(sql, params)).rows[0] as TRow | undefined,
      run: async (sql: string, params: readonly SqlValue[] = NO_PARAMS) => ({
        changes: (await send(sql, params)).rowCount ?? 0,
      }),
    };
  }

  async all<TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<TRow[]> {
    const result = await this.#track(() => query(this.#pool, sql, params));
    return result.rows as TRow[];
  }

  async get<TRow extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = NO_PARAMS,
  ): Promise<TRow | undefined> {
    const result = await this.#track(() => query(this.#pool, sql, params));
    return result.rows[0] as TRow | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<RunResult> {
    const result = await this.#track(() => query(this.#pool, sql, params));
    return { changes: result.rowCount ?? 0 };
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#transaction(fn);
  }

  migrate(layer: string, migrations: readonly Migration[]): Promise<MigrationReport> {
    const exclusive = <T>(fn: (tx: PostgresTransaction) => Promise<T>) =>
      this.#transaction(async (tx) => {
        // Released by COMMIT/ROLLBACK, so a crashed process can never leave it held.
        await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
        return fn(tx);
      });
    return runMigrations({ dialect: 'postgres', exclusive }, layer, migrations);
  }

  /** LISTENs on a dedicated pooled connection, reconnecting if it is lost (see listener.ts). */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    return listenOn(this.#pool, channel, onMessage);
  }

  /** Waits for in-flight calls and transactions, then ends the pool. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#active > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await this.#pool.end();
      await this.#urgent?.end();
    })();
    await this.#closing;
  }

  #transaction<T>(fn: (tx: PostgresTransaction) => Promise<T>): Promise<T> {
    return this.#track(async () => {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw toStoreError(error);
      }
      let broken: Error | undefined;
      try {
        const scope = new TxScope(0);
        const ops = topLevelOps(client, (error) => (broken = toStoreError(error)));
        return await scope.run(new PostgresTransaction(client, scope), fn, ops);
      } finally {
        client.release(broken); // an Error destroys the client instead of returning it to the pool
      }
    });
  }

  async #track<R>(op: () => Promise<R>): Promise<R> {
    if (this.#closing !== undefined) throw new StrataError('E_STORE', 'the store is closed');
    this.#active++;
    try {
      return await op();
    } finally {
      if (--this.#active === 0) this.#drained?.();
    }
  }
}
