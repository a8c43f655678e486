/**
 * @module kernel/auth/authenticate
 * Turns the bearer credentials of a request into a {@link Principal}. Three accepted shapes:
 * - an API key alone: the key acts with its own grants;
 * - a token alone: the token's subject acts in the token's tenant with the token's grants (the
 *   tenant always comes from the signed token, never from the request);
 * - both: "this key, narrowed to this token". The token must name the key as its subject and be of
 *   the key's tenant, so a stolen token cannot be borrowed by another key, or across tenants.
 */
import { StrataError } from '../errors.ts';
import type { Principal } from './principal.ts';
import type { Principals } from './principals.ts';
import type { CapabilityClaims } from './token-claims.ts';

export interface Credentials {
  apiKey?: string;
  token?: string;
}

export async function resolvePrincipal(
  credentials: Credentials,
  principals: Principals,
  verifyToken: (token: string) => Promise<CapabilityClaims>,
): Promise<Principal> {
  const { apiKey, token } = credentials;
  if (apiKey === undefined) {
    if (token === undefined) {
      throw new StrataError('E_UNAUTHENTICATED', 'an API key or a capability token is required');
    }
    const claims = await verifyToken(token);
    return Object.freeze({
      tenantId: claims.ten,
      id: claims.sub,
      kind: 'agent',
      grants: claims.grants,
      tokenJti: claims.jti,
    });
  }
  const keyPrincipal = await principals.authenticateApiKey(apiKey);
  if (token === undefined) return keyPrincipal;
  const claims = await verifyToken(token);
  if (claims.sub !== keyPrincipal.id || claims.ten !== keyPrincipal.tenantId) {
    throw new StrataError('E_UNAUTHENTICATED', 'the capability token was not issued to this API key');
  }
  return Object.freeze({ ...keyPrincipal, grants: claims.grants, tokenJti: claims.jti });
}
