/**
 * @module kernel/chaos/draw
 * The seeded draw behind every chaos decision. It is a hash, not a stream: the number for one
 * decision depends only on (seed, syscall name, that name's call counter, attempt, what is being
 * decided), so concurrent calls to other syscalls, or a different interleaving, never shift which
 * calls are faulted. SHA-256 from node:crypto is the mixer; 48 bits of it make the fraction.
 */
import { createHash } from 'node:crypto';

export interface DrawKey {
  readonly seed: number;
  readonly syscall: string;
  /** The syscall's call counter since chaos was (re)configured, from 0. */
  readonly index: number;
  readonly attempt: number;
  /** What the number decides (`rule:0`, `latency:0`). */
  readonly salt: string;
}

/** A number in [0, 1), the same for the same key. */
export function draw(key: DrawKey): number {
  const digest = createHash('sha256')
    .update(`${key.seed}\0${key.syscall}\0${key.index}\0${key.attempt}\0${key.salt}`)
    .digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
