/**
 * @module kernel/store/drivers/postgres/driver
 * The pieces of the PostgreSQL driver below the store: the pool (with our own type parsers), one
 * function that runs a parameterised statement, one that runs multi-statement SQL, and the mapping
 * of PostgreSQL errors to kernel codes.
 */
import pg from 'pg';
import { isStrataError, StrataError } from '../../../errors.ts';
import type { Row, SqlValue } from '../../store.ts';
import { bindable } from '../shared/params.ts';
import { toPositional } from './placeholders.ts';

/** What a pool and a checked-out client have in common. */
export interface PgQueryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow>(text: string): Promise<pg.QueryResult<R>>;
}

const INT8_OID = 20;
const builtinParser: (oid: number, format?: 'text' | 'binary') => unknown = pg.types.getTypeParser;

/**
 * BIGINT (and so COUNT(*)) arrives as a string by default, since int8 exceeds a double. The portable
 * contract is a JS number up to 2^53−1, so parse it, and fail loudly rather than round beyond that.
 * Set per pool through `types`: the global `pg.types.setTypeParser` would change every other pg user.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new StrataError(
      'E_STORE',
      'a BIGINT value is beyond Number.MAX_SAFE_INTEGER (2^53−1) and cannot be returned as a number; select it ::text',
      { max: Number.MAX_SAFE_INTEGER },
    );
  }
  return value;
}

const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : builtinParser(oid, format),
};

export function createPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types: TYPES });
  // An idle client that loses its connection emits 'error' on the pool, which would crash the
  // process if unhandled. The pool has already discarded that client; the next query reconnects
  // and reports a failure through its own rejection, so there is nothing to do here.
  pool.on('error', () => undefined);
  return pool;
}

/** One statement with `?` params, over the extended protocol (which, like SQLite, refuses several statements). */
export async function query(
  target: PgQueryable,
  sql: string,
  params: readonly SqlValue[],
): Promise<pg.QueryResult<Row>> {
  const config: pg.QueryConfig & { queryMode: 'extended' } = {
    text: toPositional(sql),
    values: bindable(params) as SqlValue[],
    queryMode: 'extended',
  };
  try {
    return await target.query<Row>(config);
  } catch (error) {
    throw toStoreError(error);
  }
}

/** SQL without params, possibly several statements (migrations, BEGIN/COMMIT), via the simple protocol. */
export async function simpleQuery(target: PgQueryable, sql: string): Promise<pg.QueryResult<Row>> {
  try {
    return await target.query<Row>(sql);
  } catch (error) {
    throw toStoreError(error);
  }
}

/**
 * Serialization failure, deadlock, lost or refused connections, too many clients: the same call may
 * succeed later. Not 08P01 (protocol violation), which is what a `?`/params count mismatch yields.
 */
const RETRYABLE = /^(40001|40P01|0800[01346]|57P0[1-3]|53300|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/;

/**
 * Maps a pg error to E_CONFLICT or E_STORE, keeping it on `cause`. Data exceptions (class 22) echo
 * the offending input ("invalid input syntax for type integer: …"), and inputs may be secrets, so
 * their text stays on `cause` only.
 */
export function toStoreError(error: unknown): StrataError {
  if (isStrataError(error)) return error;
  const code = field(error, 'code');
  const message = error instanceof Error ? error.message : String(error);
  if (code === '23505') {
    const constraint = field(error, 'constraint');
    const data = { constraint, table: field(error, 'table') };
    return new StrataError(
      'E_CONFLICT',
      `duplicate value for unique constraint ${constraint ?? ''}`.trim(),
      data,
      {
        cause: error,
      },
    );
  }
  const text = code?.startsWith('22') === true ? `invalid data (SQLSTATE ${code})` : message;
  return new StrataError(
    'E_STORE',
    `postgres: ${text}`,
    { driverCode: code },
    { cause: error, retryable: code !== undefined && RETRYABLE.test(code) },
  );
}

function field(error: unknown, key: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value: unknown = (error as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}
