/**
 * @module testkit/store-conformance
 * The contract every {@link Store} driver must meet, as one node:test suite. Our SQLite and
 * PostgreSQL drivers run it, and so should any third-party driver: what layers rely on (integer and
 * byte round-trips, conflicts as E_CONFLICT, transaction and migration semantics) is pinned here,
 * not in either driver's tests. Groups live in `store-conformance/*.ts`.
 *
 * @example
 * describeStoreConformance('sqlite', async () => {
 *   const store = await createSqliteStore({ path: ':memory:' });
 *   return { store, close: () => store.close() };
 * }, { skip: [{ reason: 'handles are not tracked yet', tests: ['transactions > a handle used after its transaction ended is refused'] }] });
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../kernel/store/store.ts';
import {
  skippableTest,
  uniqueName,
  type ConformanceContext,
  type StoreFactory,
  type StoreHandle,
} from './store-conformance/context.ts';
import { crudTests } from './store-conformance/crud.ts';
import { lifecycleTests } from './store-conformance/lifecycle.ts';
import { migrationTests } from './store-conformance/migrations.ts';
import { afterCommitTests, transactionTests } from './store-conformance/transactions.ts';
import { valueTests } from './store-conformance/values.ts';

export type { StoreFactory, StoreHandle } from './store-conformance/context.ts';

export interface StoreConformanceOptions {
  /** Tests the driver cannot pass, by `<group> > <test title>`, each with the reason. */
  skip?: readonly { readonly reason: string; readonly tests: readonly string[] }[];
}

const GROUPS: readonly (readonly [string, (ctx: ConformanceContext) => void])[] = [
  ['migrations', migrationTests],
  ['values', valueTests],
  ['crud', crudTests],
  ['transactions', transactionTests],
  ['after commit', afterCommitTests],
  ['lifecycle', lifecycleTests],
];

export function describeStoreConformance(
  name: string,
  factory: StoreFactory,
  options: StoreConformanceOptions = {},
): void {
  const skips = new Map<string, string>();
  for (const { reason, tests } of options.skip ?? []) for (const test of tests) skips.set(test, reason);
  const seen = new Set<string>();

  void describe(`store conformance: ${name}`, () => {
    const handles: StoreHandle[] = [];
    let shared: Store | undefined;
    before(async () => {
      const handle = await factory();
      handles.push(handle);
      shared = handle.store;
    });
    after(async () => {
      for (const handle of handles) await handle.close();
    });
    const base = {
      store: () => {
        if (shared === undefined)
          throw new Error('the conformance store is not open (did the factory fail?)');
        return shared;
      },
      privateStore: async () => {
        const handle = await factory();
        handles.push(handle);
        return handle.store;
      },
      unique: uniqueName,
    };
    for (const [group, define] of GROUPS) {
      void describe(group, () => define({ ...base, test: skippableTest(group, skips, seen) }));
    }
    // A skip that names no test is stale (renamed or fixed) and would silently hide a regression.
    void it('the skip list names only existing tests', () => {
      assert.deepEqual(
        [...skips.keys()].filter((path) => !seen.has(path)),
        [],
      );
    });
  });
}
