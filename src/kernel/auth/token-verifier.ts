/**
 * @module kernel/auth/token-verifier
 * Verification of capability tokens, split in two by what can change. Signature, claims shape and
 * the narrowing rule along the chain are facts of the token string, so they are cached (bounded LRU)
 * per string. Expiry (time moves) and revocation (the store changes) are checked on every call: the
 * expiry of the token and every ancestor against the injected clock, revocation of the whole chain
 * with one query.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../clock.ts';
import { StrataError, isStrataError } from '../errors.ts';
import type { Queryable } from '../store/store.ts';
import { Lru } from './lru.ts';
import type { SigningKeys } from './signing-keys.ts';
import * as tc from './token-claims.ts';
import type { CapabilityClaims } from './token-claims.ts';

interface Verified {
  readonly claims: CapabilityClaims;
  /** `exp` (seconds) of the token and every ancestor, keyed by jti. */
  readonly links: ReadonlyMap<string, number>;
}

function invalid(cause?: unknown): StrataError {
  const message = 'capability token is malformed or its signature is invalid';
  return new StrataError('E_TOKEN_INVALID', message, undefined, { cause });
}

const expired = (): StrataError => new StrataError('E_TOKEN_EXPIRED', 'capability token has expired');

export class TokenVerifier {
  readonly #store: Queryable;
  readonly #clock: Clock;
  readonly #keys: SigningKeys;
  readonly #verified: Lru<string, Verified>;

  constructor(options: { store: Queryable; clock: Clock; keys: SigningKeys; cacheSize?: number }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#keys = options.keys;
    this.#verified = new Lru(options.cacheSize ?? 2_000);
  }

  async verify(token: string): Promise<CapabilityClaims> {
    const verified = await this.#verifyChain(token, 0);
    const now = this.#clock.now();
    for (const exp of verified.links.values()) {
      if (now >= exp * 1000) throw expired();
    }
    const jtis = [...verified.links.keys()];
    const revoked = await this.#store.get(
      `SELECT jti FROM kernel_token_revocations WHERE jti IN (${jtis.map(() => '?').join(', ')})`,
      jtis,
    );
    if (revoked !== undefined) throw new StrataError('E_TOKEN_REVOKED', 'capability token has been revoked');
    return verified.claims;
  }

  async #verifyChain(token: string, depth: number): Promise<Verified> {
    const cached = this.#verified.get(token);
    if (cached !== undefined) return cached;
    if (depth > tc.MAX_CHAIN_DEPTH || token.length > tc.MAX_TOKEN_CHARS) throw invalid();
    const claims = tc.freezeClaims(await this.#verifySignature(token));
    const links = new Map<string, number>();
    if (claims.prf !== undefined) {
      const parent = await this.#verifyChain(claims.prf, depth + 1);
      tc.checkLink(parent.claims, claims);
      for (const [jti, exp] of parent.links) links.set(jti, exp);
    } else if (claims.chain.length > 0) {
      throw invalid();
    }
    links.set(claims.jti, claims.exp);
    const verified: Verified = { claims, links };
    this.#verified.set(token, verified);
    return verified;
  }

  async #verifySignature(token: string): Promise<CapabilityClaims> {
    try {
      // `algorithms` pinned: `alg: none` and HS256-keyed-with-our-public-key are refused up front.
      const { payload } = await jwtVerify(
        token,
        async (header) => (await this.#keys.publicKey(header.kid ?? '')) ?? Promise.reject(invalid()),
        {
          algorithms: ['EdDSA'],
          typ: tc.TOKEN_TYPE,
          issuer: tc.ISSUER,
          currentDate: new Date(this.#clock.now()),
        },
      );
      const parsed = tc.claimsSchema.safeParse(payload);
      if (!parsed.success) throw invalid();
      return parsed.data;
    } catch (error) {
      if (isStrataError(error)) throw error;
      if (error instanceof joseErrors.JWTExpired) throw expired();
      throw invalid(error);
    }
  }
}
