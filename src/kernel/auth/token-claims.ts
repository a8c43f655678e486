/**
 * @module kernel/auth/token-claims
 * The claims of a capability token and the one rule that makes delegation safe: a child token may
 * only narrow its parent. The rule is checked when a child is minted (`attenuate`) and again on
 * every verification down the embedded chain, so a wider child is refused even if it was somehow
 * signed (a bug in some minting path, or a token minted by an older, buggier release).
 */
import { z } from 'zod';
import { StrataError } from '../errors.ts';
import { freezeGrants, grantCovers, grantsSchema, type Grant } from './grants.ts';

/** JOSE `typ` header of capability tokens, so no other JWT signed by the same key passes as one. */
export const TOKEN_TYPE = 'strata-cap+jwt';
export const ISSUER = 'strata';
/** At most this many ancestors; also bounds the size of a token, which embeds its whole chain. */
export const MAX_CHAIN_DEPTH = 8;
/**
 * Each child embeds its parent inside its base64url payload, so size grows about 1.37x per level:
 * two grants give ~0.7 KB at the root and ~30 KB at depth 8. Minting refuses larger tokens, and
 * verification refuses them before any parsing.
 */
export const MAX_TOKEN_CHARS = 64 * 1024;
/** Tokens are for agents and tasks, not for storage: a year is already generous. */
export const MAX_TTL_SECONDS = 366 * 24 * 3600;

export interface CapabilityClaims {
  readonly jti: string;
  readonly iss: string;
  readonly sub: string;
  /** The tenant; the only source of a token holder's tenant (never the call's input). */
  readonly ten: string;
  readonly grants: readonly Grant[];
  /** Issued at / expires at, in seconds since the epoch (JWT NumericDate). */
  readonly iat: number;
  readonly exp: number;
  /** The parent token, embedded whole so any node can verify the chain offline. */
  readonly prf?: string;
  /** Ancestor jtis, root first; empty for a root token. */
  readonly chain: readonly string[];
}

export const claimsSchema = z.object({
  jti: z.string().min(1).max(100),
  iss: z.literal(ISSUER),
  sub: z.string().min(1).max(200),
  ten: z.string().min(1).max(100),
  grants: grantsSchema,
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
  prf: z.string().min(1).optional(),
  chain: z.array(z.string().min(1)).max(MAX_CHAIN_DEPTH),
});

/** The first grant of `child` that no grant of `parent` covers, if any. */
export function uncoveredGrant(parent: readonly Grant[], child: readonly Grant[]): Grant | undefined {
  return child.find((c) => !parent.some((p) => grantCovers(p, c)));
}

/** Verifies that `child` is a valid narrowing of `parent`; E_TOKEN_INVALID otherwise. */
export function checkLink(parent: CapabilityClaims, child: CapabilityClaims): void {
  const expectedChain = [...parent.chain, parent.jti];
  const chainOk =
    child.chain.length === expectedChain.length && child.chain.every((jti, i) => jti === expectedChain[i]);
  if (
    !chainOk ||
    child.ten !== parent.ten ||
    child.exp > parent.exp ||
    uncoveredGrant(parent.grants, child.grants)
  ) {
    throw new StrataError('E_TOKEN_INVALID', 'capability token chain is invalid: a child widens its parent');
  }
}

/** Freezes claims deeply: verified claims are cached and shared, so nobody may mutate them. */
export function freezeClaims(claims: CapabilityClaims): CapabilityClaims {
  freezeGrants(claims.grants);
  Object.freeze(claims.chain);
  return Object.freeze(claims);
}

/** Validates a requested lifetime in seconds. */
export function checkTtl(ttlSeconds: number): number {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new StrataError('E_INVALID_INPUT', `ttlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}`, {
      issues: [{ path: 'ttlSeconds', message: 'out of range' }],
    });
  }
  return ttlSeconds;
}
