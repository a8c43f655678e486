/**
 * @module kernel/store
 * The store interface and `openStore(url)`, which loads the right driver lazily, so importing the
 * kernel never loads `pg` or `better-sqlite3` until a store of that kind is opened.
 *
 * @example
 * const store = await openStore('sqlite:.strata/strata.db');   // or 'postgres://127.0.0.1/strata'
 */
import { StrataError } from '../errors.ts';
import type { Store } from './store.ts';

export * from './store.ts';

export interface OpenStoreOptions {
  /** PostgreSQL pool size. @default 10 */
  poolSize?: number;
}

/** Opens a store from a URL: `sqlite:<path>`, `sqlite::memory:`, a bare file path, or `postgres://…`. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { createPostgresStore } = await import('./drivers/postgres/index.ts');
    return createPostgresStore({ connectionString: url, poolSize: options.poolSize });
  }
  if (url.includes('://')) {
    throw new StrataError('E_CONFIG', `unsupported database URL scheme in "${url.split('://')[0]}://…"`, {
      key: 'database.url',
      supported: ['sqlite:<path>', 'postgres://…'],
    });
  }
  const { createSqliteStore } = await import('./drivers/sqlite/index.ts');
  return createSqliteStore({ path: url.replace(/^sqlite:/, '') });
}
