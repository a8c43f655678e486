/**
 * @module kernel/ids
 * Sortable ids (ULID: 48-bit time + 80-bit randomness, Crockford base32) with a type prefix, so an
 * id says what it names (`run_01J…`) and sorts by creation time. Monotonic within a millisecond.
 */
import { monotonicFactory } from 'ulidx';

const nextUlid = monotonicFactory();

/** A new id such as `tok_01JD3…`; `prefix` is lower-case letters. */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${nextUlid(now)}`;
}
