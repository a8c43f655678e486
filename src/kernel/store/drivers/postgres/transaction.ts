/**
 * @module kernel/store/drivers/postgres/transaction
 * The handle `transaction(fn)` passes to `fn`: every statement runs on the one pooled client that
 * holds the transaction, nested transactions use SAVEPOINTs, and the shared {@link TxScope} gives it
 * the same failure and lifetime rules as the SQLite driver.
 */
import type pg from 'pg';
import { StrataError } from '../../../errors.ts';
import type { Row, RunResult, SqlValue, Transaction } from '../../store.ts';
import type { MigrationTx } from '../shared/migrate.ts';
import { NO_PARAMS } from '../shared/params.ts';
import { TxScope, type ScopeOps } from '../shared/transaction-scope.ts';
import { query, simpleQuery } from './driver.ts';

export class PostgresTransaction implements Transaction, MigrationTx {
  readonly dialect = 'postgres' as const;
  readonly #client: pg.PoolClient;
  readonly #scope: TxScope;

  constructor(client: pg.PoolClient, scope: TxScope) {
    this.#client = client;
    this.#scope = scope;
  }

  async all<TRow extends Row = Row>(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<TRow[]> {
    const result = await this.#scope.call(() => query(this.#client, sql, params));
    return result.rows as TRow[];
  }

  async get<TRow extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = NO_PARAMS,
  ): Promise<TRow | undefined> {
    const result = await this.#scope.call(() => query(this.#client, sql, params));
    return result.rows[0] as TRow | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = NO_PARAMS): Promise<RunResult> {
    const result = await this.#scope.call(() => query(this.#client, sql, params));
    return { changes: result.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.#scope.call(() => simpleQuery(this.#client, sql));
  }

  afterCommit(hook: () => void): void {
    this.#scope.afterCommit(hook);
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const parent = this.#scope;
    const depth = parent.depth + 1;
    // Depth makes the name unique along the stack; siblings never overlap (TxScope.serial).
    const savepoint = `strata_sp_${depth}`;
    const exec = (sql: string) => async () => {
      await parent.call(() => simpleQuery(this.#client, sql));
    };
    return parent.serial(() => {
      const scope = new TxScope(depth, parent);
      return scope.run<Transaction, T>(new PostgresTransaction(this.#client, scope), fn, {
        begin: exec(`SAVEPOINT ${savepoint}`),
        commit: exec(`RELEASE SAVEPOINT ${savepoint}`),
        rollback: exec(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`),
      });
    });
  }
}

/** BEGIN/COMMIT/ROLLBACK on `client`; `onBroken` hears of a failed ROLLBACK, after which the client must be discarded. */
export function topLevelOps(client: pg.PoolClient, onBroken: (error: unknown) => void): ScopeOps {
  return {
    begin: async () => {
      await simpleQuery(client, 'BEGIN');
    },
    commit: async () => {
      // COMMIT of a transaction the server already aborted succeeds with the tag ROLLBACK; never call that success.
      const result = await simpleQuery(client, 'COMMIT');
      if (result.command === 'ROLLBACK') {
        throw new StrataError('E_STORE', 'transaction rolled back by PostgreSQL: a statement in it failed');
      }
    },
    rollback: async () => {
      try {
        await simpleQuery(client, 'ROLLBACK');
      } catch (error) {
        onBroken(error);
        throw error;
      }
    },
  };
}
