/**
 * @module kernel/store/drivers/sqlite/transaction
 * The handle `transaction(fn)` passes to `fn`. It talks to the connection directly (the store's
 * mutex is already held for the whole transaction) and nests with SAVEPOINTs. The shared
 * {@link TxScope} gives it the same failure and lifetime rules as the PostgreSQL driver.
 */
import type { Row, RunResult, SqlValue, Transaction } from '../../store.ts';
import type { MigrationTx } from '../shared/migrate.ts';
import { NO_PARAMS } from '../shared/params.ts';
import { TxScope, type ScopeOps } from '../shared/transaction-scope.ts';
import type { SqliteConnection } from './driver.ts';

export class SqliteTransaction implements Transaction, MigrationTx {
  readonly dialect = 'sqlite' as const;
  readonly #conn: SqliteConnection;
  readonly #scope: TxScope;

  constructor(conn: SqliteConnection, scope: TxScope) {
    this.#conn = conn;
    this.#scope = scope;
  }

  all<TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<TRow[]> {
    return this.#scope.call(() => this.#conn.all(sql, params) as TRow[]);
  }

  get<TRow extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = NO_PARAMS,
  ): Promise<TRow | undefined> {
    return this.#scope.call(() => this.#conn.get(sql, params) as TRow | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<RunResult> {
    return this.#scope.call(() => this.#conn.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.#scope.call(() => this.#conn.exec(sql));
  }

  afterCommit(hook: () => void): void {
    this.#scope.afterCommit(hook);
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const parent = this.#scope;
    const depth = parent.depth + 1;
    // Depth makes the name unique along the stack; siblings never overlap (TxScope.serial).
    const savepoint = `strata_sp_${depth}`;
    const exec = (sql: string) => () => parent.call(() => this.#conn.exec(sql));
    return parent.serial(() => {
      const scope = new TxScope(depth, parent);
      return scope.run<Transaction, T>(new SqliteTransaction(this.#conn, scope), fn, {
        begin: exec(`SAVEPOINT ${savepoint}`),
        commit: exec(`RELEASE SAVEPOINT ${savepoint}`),
        rollback: exec(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`),
      });
    });
  }
}

/**
 * BEGIN IMMEDIATE takes the write lock up front: a deferred BEGIN that reads and later writes can
 * fail with SQLITE_BUSY mid-transaction when another process wrote in between, which no retry of
 * the single statement can fix.
 */
export function topLevelOps(conn: SqliteConnection): ScopeOps {
  return {
    begin: () => conn.exec('BEGIN IMMEDIATE'),
    commit: () => conn.exec('COMMIT'),
    // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR…); ROLLBACK would then fail.
    rollback: () => {
      if (conn.inTransaction) conn.exec('ROLLBACK');
    },
  };
}
