/**
 * @module testkit/pg
 * A fresh, empty PostgreSQL database per test file, so tests never see each other's tables and can
 * run in parallel. Databases are created from `template0`, which nobody may connect to: creating
 * from `template1` (the default) fails whenever another session is connected to it, which happens
 * as soon as several test processes start at once.
 *
 * The base URL comes from `STRATA_TEST_PG_URL` (a server every developer and CI machine runs).
 *
 * @example
 * const db = await createTestDatabase();
 * const store = await createPostgresStore({ connectionString: db.url });
 * after(async () => { await store.close(); await db.drop(); });
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Lock and catalog contention when many processes create or drop databases at the same moment. */
const TRANSIENT = new Set(['55006', '40001', '40P01', '55P03']);

export interface TestDatabase {
  /** Connection string of the new database (the base URL with another database name). */
  readonly url: string;
  /** Drops the database, disconnecting any session still on it. Idempotent. */
  readonly drop: () => Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env['STRATA_TEST_PG_URL'] ?? DEFAULT_URL;
  const name = `strata_t_${randomBytes(8).toString('hex')}`;
  await admin(base, `CREATE DATABASE ${name} TEMPLATE template0`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => (dropped ??= admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** Runs one statement on the base database, retrying transient contention a few times. */
async function admin(base: string, sql: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: base });
    try {
      await client.connect();
      await client.query(sql);
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt < 5 && typeof code === 'string' && TRANSIENT.has(code)) {
        await sleep(50 * attempt + Math.random() * 50);
        continue;
      }
      throw new Error(
        `test PostgreSQL at ${redact(base)} failed "${sql}"; is it running? Set STRATA_TEST_PG_URL to point elsewhere`,
        { cause: error },
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable STRATA_TEST_PG_URL>';
  }
}
