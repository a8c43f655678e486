/**
 * @module testkit/store-conformance/context
 * What every conformance group gets: the shared store, a way to open a private one, unique names
 * (tests share one store, so each creates its own tables and migration layers), a `test` that
 * honours the driver's skip list, and an assertion for StrataError codes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { isStrataError, type StrataError, type StrataErrorCode } from '../../kernel/errors.ts';
import type { Store } from '../../kernel/store/store.ts';

export interface StoreHandle {
  readonly store: Store;
  readonly close: () => Promise<void>;
}

export type StoreFactory = () => Promise<StoreHandle>;

export interface ConformanceContext {
  /** The store shared by the suite (opened in `before`). */
  readonly store: () => Store;
  /** A store of its own for tests that close it; closed by the suite's `after` as well. */
  readonly privateStore: () => Promise<Store>;
  /** A name no other test (or earlier run against a persistent database) uses. */
  readonly unique: (base: string) => string;
  /** `it(title)`, skipped with a reason when the driver lists `<group> > <title>`. */
  readonly test: (title: string, fn: () => Promise<void>) => void;
}

const runId = randomBytes(3).toString('hex');
let counter = 0;

export function uniqueName(base: string): string {
  return `${base}_${runId}_${++counter}`;
}

/** Defines `it(title)` or, when the skip list names `group > title`, a skipped test giving the reason. */
export function skippableTest(group: string, skips: ReadonlyMap<string, string>, seen: Set<string>) {
  return (title: string, fn: () => Promise<void>): void => {
    const path = `${group} > ${title}`;
    seen.add(path);
    const reason = skips.get(path);
    void it(title, reason === undefined ? {} : { skip: reason }, fn);
  };
}

/** Awaits a rejection and returns it after checking it is a StrataError with `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: StrataErrorCode): Promise<StrataError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(isStrataError(caught), `expected a StrataError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** BLOB on SQLite, BYTEA on PostgreSQL: the only column type the portable schema spells per dialect. */
export function bytesType(store: Store): string {
  return store.dialect === 'postgres' ? 'BYTEA' : 'BLOB';
}
