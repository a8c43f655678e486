/**
 * @module kernel/auth/capabilities
 * The capability authority: mints, attenuates, verifies and revokes capability tokens, and decides
 * whether a principal may make a call. Tokens are JWS compact (EdDSA/Ed25519, `typ` strata-cap+jwt)
 * so any JOSE library can read them; verification pins the algorithm, so `alg: none` and the
 * "HS256 keyed with the public key" confusion both fail.
 *
 * A token's authority is its grants, its tenant (`ten`) and its whole chain: each child embeds its
 * parent (`prf`), verification re-checks the narrowing rule at every link, and revoking or the
 * expiry of any ancestor kills every descendant. Signature checks are cached per token string;
 * expiry and revocation are checked on every call, against the injected clock and the store.
 */
import { SignJWT, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import { StrataError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { resolvePrincipal, type Credentials } from './authenticate.ts';
import { findGrant, parseGrants, type CallRequest, type Grant } from './grants.ts';
import { migrateAuth } from './migrations.ts';
import type { Principal } from './principal.ts';
import type { Principals } from './principals.ts';
import { SigningKeys, type ActiveKey } from './signing-keys.ts';
import * as tc from './token-claims.ts';
import { TokenVerifier } from './token-verifier.ts';
import type { CapabilityClaims } from './token-claims.ts';

export class CapabilityAuthority {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #keys: SigningKeys;
  readonly #active: ActiveKey;
  readonly #verifier: TokenVerifier;

  private constructor(store: Store, clock: Clock, keys: SigningKeys, active: ActiveKey) {
    this.#store = store;
    this.#clock = clock;
    this.#keys = keys;
    this.#active = active;
    this.#verifier = new TokenVerifier({ store, clock, keys });
  }

  /** Applies the `kernel.auth` schema, then loads (or creates) the signing key. */
  static async open(options: {
    store: Store;
    clock: Clock;
    masterKey: Buffer;
  }): Promise<CapabilityAuthority> {
    await migrateAuth(options.store);
    const { keys, active } = await SigningKeys.load(options);
    return new CapabilityAuthority(options.store, options.clock, keys, active);
  }

  /** Mints a root token. Callers must check that whoever asks may hold these grants. */
  async issue(input: {
    tenantId: string;
    subject: string;
    grants: readonly Grant[];
    ttlSeconds: number;
  }): Promise<{ token: string; claims: CapabilityClaims }> {
    const tenant = await this.#store.get('SELECT id FROM kernel_tenants WHERE id = ?', [input.tenantId]);
    if (tenant === undefined) throw new StrataError('E_NOT_FOUND', `tenant "${input.tenantId}" not found`);
    const iat = this.#nowSeconds();
    return this.#mint(
      { ten: input.tenantId, sub: input.subject, grants: input.grants, iat, chain: [] },
      iat + tc.checkTtl(input.ttlSeconds),
    );
  }

  /** Derives a narrower token from `parentToken`; E_ATTENUATION if it would widen anything. */
  async attenuate(
    parentToken: string,
    input: { grants: readonly Grant[]; ttlSeconds?: number; subject?: string },
  ): Promise<{ token: string; claims: CapabilityClaims }> {
    const parent = await this.verify(parentToken);
    const grants = parseGrants(input.grants);
    const widened = tc.uncoveredGrant(parent.grants, grants);
    if (widened !== undefined) {
      throw new StrataError(
        'E_ATTENUATION',
        `grant ${widened.syscall} on ${widened.resource} is not covered by the parent token`,
        { grant: widened },
      );
    }
    const iat = this.#nowSeconds();
    const exp = input.ttlSeconds === undefined ? parent.exp : iat + tc.checkTtl(input.ttlSeconds);
    if (exp > parent.exp) throw new StrataError('E_ATTENUATION', 'a child token cannot outlive its parent');
    const chain = [...parent.chain, parent.jti];
    if (chain.length > tc.MAX_CHAIN_DEPTH) {
      throw new StrataError(
        'E_ATTENUATION',
        `a token chain may have at most ${tc.MAX_CHAIN_DEPTH} ancestors`,
      );
    }
    const sub = input.subject ?? parent.sub;
    return this.#mint({ ten: parent.ten, sub, grants, iat, chain, prf: parentToken }, exp);
  }

  /** Verifies signature, chain, expiry and revocation of the token and every ancestor. */
  verify(token: string): Promise<CapabilityClaims> {
    return this.#verifier.verify(token);
  }

  /** Revokes a token (and so all its descendants). Idempotent; E_NOT_FOUND outside `tenantId`. */
  async revoke(tenantId: string, jti: string, reason: string): Promise<void> {
    const token = await this.#store.get('SELECT jti FROM kernel_tokens WHERE jti = ? AND tenant_id = ?', [
      jti,
      tenantId,
    ]);
    if (token === undefined) throw new StrataError('E_NOT_FOUND', `token "${jti}" not found`);
    await this.#store.run(
      'INSERT INTO kernel_token_revocations (jti, tenant_id, revoked_at, reason) VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING',
      [jti, tenantId, this.#clock.now(), reason.slice(0, 500)],
    );
  }

  /** The public keys that verify tokens, as a JWK set (for `/.well-known/jwks.json`). */
  jwks(): Promise<{ keys: JWK[] }> {
    return this.#keys.jwks();
  }

  /** The grant that allows `call`, or E_CAPABILITY_DENIED (deny by default). */
  authorize(principal: Principal, call: CallRequest): Grant {
    const grant = findGrant(principal.grants, call);
    if (grant !== undefined) return grant;
    // Names only: input values may hold secrets or personal data.
    throw new StrataError('E_CAPABILITY_DENIED', `no capability grants ${call.syscall} on ${call.resource}`, {
      syscall: call.syscall,
      resource: call.resource,
    });
  }

  /** Resolves bearer credentials to a principal; see {@link resolvePrincipal}. */
  authenticate(credentials: Credentials, principals: Principals): Promise<Principal> {
    return resolvePrincipal(credentials, principals, (token) => this.verify(token));
  }

  async #mint(
    body: Omit<CapabilityClaims, 'jti' | 'iss' | 'exp' | 'grants'> & { grants: readonly Grant[] },
    exp: number,
  ): Promise<{ token: string; claims: CapabilityClaims }> {
    const grants = parseGrants(body.grants);
    const claims: CapabilityClaims = {
      ...body,
      grants,
      jti: newId('tok', this.#clock.now()),
      iss: tc.ISSUER,
      exp,
    };
    // Never sign what verification would refuse (e.g. an empty or oversized subject).
    if (!tc.claimsSchema.safeParse(claims).success) {
      throw new StrataError('E_INVALID_INPUT', 'token subject must be 1-200 chars');
    }
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.#active.kid, typ: tc.TOKEN_TYPE })
      .sign(this.#active.privateKey);
    if (token.length > tc.MAX_TOKEN_CHARS) {
      const message = `the token would exceed ${tc.MAX_TOKEN_CHARS} chars; use fewer grants or a shorter chain`;
      throw new StrataError(body.prf === undefined ? 'E_INVALID_INPUT' : 'E_ATTENUATION', message);
    }
    await this.#store.run(
      'INSERT INTO kernel_tokens (jti, tenant_id, subject, parent_jti, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [claims.jti, claims.ten, claims.sub, claims.chain.at(-1) ?? null, claims.iat * 1000, exp * 1000],
    );
    return { token, claims: tc.freezeClaims(claims) };
  }

  #nowSeconds(): number {
    return Math.floor(this.#clock.now() / 1000);
  }
}
