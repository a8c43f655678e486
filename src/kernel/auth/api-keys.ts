/**
 * @module kernel/auth/api-keys
 * The API key format and its hashing, kept apart from storage so the rules are easy to audit.
 *
 * A key reads `sk_<id>_<secret>`: the record id (`key_<ULID>`) lets the server find the row with one
 * indexed lookup, and the secret (32 random bytes, 43 base64url chars) is shown once and stored only
 * as its SHA-256. A plain hash, not a slow KDF, is right here: the secret has 256 bits of entropy, so
 * there is nothing to brute-force, and authentication stays fast on every request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Principal } from './principal.ts';

const KEY_PATTERN = /^sk_(key_[0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

export interface ParsedApiKey {
  readonly id: string;
  readonly secret: string;
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatApiKey(id: string, secret: string): string {
  return `sk_${id}_${secret}`;
}

/** Splits a presented key; `undefined` for anything not shaped like one of ours. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const match = KEY_PATTERN.exec(key);
  return match?.[1] !== undefined && match[2] !== undefined ? { id: match[1], secret: match[2] } : undefined;
}

/** Hex SHA-256 of the secret: the only form that is ever stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

interface CachedKey {
  readonly hash: string;
  readonly principal: Principal;
  readonly cachedAt: number;
}

/**
 * Recently authenticated keys, so a busy client does not cost a query per request. Safe against
 * revocation in this process (`delete` on revoke). Another process's revocation is seen only when the
 * entry expires, hence the short TTL: a key revoked elsewhere keeps working here for at most `ttlMs`.
 * Entries hold the hash, so a wrong secret for a cached id still fails. A generation counter, bumped
 * by every `delete`, stops a lookup that raced a revocation from caching what it read before it.
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, CachedKey>();
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #max: number;
  #generation = 0;

  constructor(clock: Clock, ttlMs = 5_000, max = 1_000) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  get(id: string, secret: string): Principal | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const age = this.#clock.now() - entry.cachedAt;
    if (age < 0 || age >= this.#ttlMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return secretMatches(secret, entry.hash) ? entry.principal : undefined;
  }

  /** Read before the store lookup and pass to `set`. */
  get generation(): number {
    return this.#generation;
  }

  set(id: string, hash: string, principal: Principal, generation: number): void {
    if (generation !== this.#generation) return;
    this.#entries.delete(id);
    // Map keeps insertion order, so the first key is the oldest entry.
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value ?? '');
    this.#entries.set(id, { hash, principal, cachedAt: this.#clock.now() });
  }

  delete(id: string): void {
    this.#generation++;
    this.#entries.delete(id);
  }
}
