/**
 * @module server/auth
 * Bearer authentication. `Authorization: Bearer <credential>` carries an API key (`sk_…`) or a
 * capability token (a JWS); `Strata-Capability: <token>` may narrow an API key to a token issued to
 * it. The kernel decides whether the credentials are good ({@link Kernel.authenticate}); this module
 * only tells the two kinds apart and refuses shapes that can be neither, without echoing them.
 *
 * It runs before any body is read or validated, so an unauthenticated caller learns nothing about
 * inputs and costs the server no more than a header parse and a cached key lookup.
 */
import type { MiddlewareHandler } from 'hono';
import { StrataError, type Credentials, type Kernel } from '../kernel/index.ts';
import type { AppEnv } from './types.ts';

export const CAPABILITY_HEADER = 'Strata-Capability';

/** Headers are capped well below Node's 16 KB header limit; a token chain of maximal depth fits. */
const MAX_CREDENTIAL_LENGTH = 12_000;
const BEARER = /^Bearer +(\S+) *$/i;
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const unauthenticated = (message: string): StrataError => new StrataError('E_UNAUTHENTICATED', message);

const isToken = (value: string): boolean => value.length <= MAX_CREDENTIAL_LENGTH && JWS.test(value);

/** Classifies the headers into kernel credentials; throws E_UNAUTHENTICATED for unusable shapes. */
export function credentialsOf(
  authorization: string | undefined,
  capability: string | undefined,
): Credentials {
  if (authorization === undefined || authorization === '') {
    throw unauthenticated('send Authorization: Bearer <API key or capability token>');
  }
  const bearer = BEARER.exec(authorization)?.[1];
  if (bearer === undefined) throw unauthenticated('the Authorization header must read "Bearer <credential>"');
  const narrowing = capability === undefined || capability === '' ? undefined : capability.trim();
  if (narrowing !== undefined && !isToken(narrowing)) {
    throw unauthenticated(`the ${CAPABILITY_HEADER} header must hold a capability token`);
  }
  if (bearer.startsWith('sk_') && bearer.length <= 200) return { apiKey: bearer, token: narrowing };
  if (isToken(bearer)) {
    if (narrowing !== undefined) {
      throw unauthenticated(`${CAPABILITY_HEADER} narrows an API key; send it with an API key as the bearer`);
    }
    return { token: bearer };
  }
  throw unauthenticated('the bearer credential is neither an API key (sk_…) nor a capability token');
}

/** Resolves the caller and stores it as `principal`; every failure is a 401 with a stable code. */
export function authenticate(kernel: Kernel): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const credentials = credentialsOf(c.req.header('authorization'), c.req.header(CAPABILITY_HEADER));
    c.set('principal', await kernel.authenticate(credentials));
    await next();
  };
}
