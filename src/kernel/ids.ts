/**
 * @module kernel/ids
 * Sortable ids (ULID: 48-bit time + 80-bit randomness, Crockford base32) with a type prefix, so an
 * id says what it names (`run_01J…`) and sorts by creation time. Monotonic within a millisecond.
 */
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulidx';

// ulidx asks its PRNG for one value per character; its default makes one getRandomValues call each
// (16 syscalls per id, the top cost of bulk enqueue). Drawing the same CSPRNG bytes from a pool is
// as random and ~20× cheaper. byte / 256 maps each byte to exactly one of 32 characters, unbiased.
const pool = new Uint8Array(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return (pool[used++] as number) / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

/** A new id such as `tok_01JD3…`; `prefix` is lower-case letters. */
export function newId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${nextUlid(now)}`;
}

/** Matches an id made by {@link newId} with this prefix (`run` → `run_01JD3…`: 26 Crockford base32). */
export function idPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);
}
