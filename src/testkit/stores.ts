/**
 * @module testkit/stores
 * Runs one test suite against both real engines — SQLite (a file in a temp dir, WAL) and a fresh
 * PostgreSQL database — so every behaviour is proved on both dialects by the same code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { isStrataError } from '../kernel/errors.ts';
import { createPostgresStore } from '../kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../kernel/store/drivers/sqlite/index.ts';
import type { Dialect, Store } from '../kernel/store/store.ts';
import { createTestDatabase } from './pg.ts';

export interface StoreHandle {
  readonly dialect: Dialect;
  /** Opens another store on the same database (a second "process"). */
  open(): Promise<Store>;
}

/** Creates a fresh database of a dialect; `drop` removes it. */
export async function freshDatabase(dialect: Dialect): Promise<StoreHandle & { drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'strata-test-'));
    const path = join(dir, 'test.db');
    return {
      dialect,
      open: () => createSqliteStore({ path }),
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const db = await createTestDatabase();
  return { dialect, open: () => createPostgresStore({ connectionString: db.url }), drop: db.drop };
}

/** `describe(<title> on sqlite|postgres)`, each with a fresh database; `suite` gets a handle getter. */
export function onEveryStore(title: string, suite: (db: () => StoreHandle) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    void describe(`${title} on ${dialect}`, () => {
      let handle: (StoreHandle & { drop(): Promise<void> }) | undefined;
      before(async () => {
        handle = await freshDatabase(dialect);
      });
      after(async () => {
        await handle?.drop();
      });
      suite(() => {
        if (!handle) throw new Error('test database is not ready');
        return handle;
      });
    });
  }
}

/** A predicate for `assert.rejects`: a StrataError with this code. */
export const withCode =
  (expected: string) =>
  (error: unknown): boolean =>
    isStrataError(error) && error.code === expected;
