/**
 * @module tools/vault/oauth
 * One OAuth 2.0 token request (RFC 6749 §4.4 client credentials, §6 refresh), with the client
 * authenticating by HTTP Basic (§2.3.1, which every server must support). Errors name the
 * connection and the endpoint's `error` code only: the response body may echo secrets.
 */
import { StrataError } from '../../kernel/index.ts';

export type TokenGrant = { type: 'client_credentials' } | { type: 'refresh_token'; refreshToken: string };

export interface TokenRequest {
  connection: string;
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  scope?: string;
  grant: TokenGrant;
  /** @default 10_000 */
  timeoutMs?: number;
}

export interface TokenResponse {
  accessToken: string;
  refreshToken?: string;
  expiresInS?: number;
}

const ERROR_CODE = /^[a-z_]{1,64}$/;

export async function requestToken(fetchFn: typeof fetch, request: TokenRequest): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: request.grant.type });
  if (request.grant.type === 'refresh_token') body.set('refresh_token', request.grant.refreshToken);
  if (request.scope) body.set('scope', request.scope);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (request.clientSecret !== undefined) {
    const basic = `${encodeURIComponent(request.clientId)}:${encodeURIComponent(request.clientSecret)}`;
    headers['authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    body.set('client_id', request.clientId);
  }
  const where = `OAuth token request for connection "${request.connection}"`;
  let res: Response;
  try {
    res = await fetchFn(request.tokenUrl, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs ?? 10_000),
    });
  } catch {
    // The cause (an undici error) is dropped on purpose: it can quote the request.
    throw new StrataError('E_UNAVAILABLE', `${where} could not reach the token endpoint`);
  }
  const json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok) {
    const code =
      typeof json?.['error'] === 'string' && ERROR_CODE.test(json['error']) ? json['error'] : undefined;
    throw new StrataError(
      res.status >= 500 ? 'E_UNAVAILABLE' : 'E_TOOL_ERROR',
      `${where} was refused: HTTP ${res.status}${code ? ` ${code}` : ''}`,
      { status: res.status, error: code },
    );
  }
  const accessToken = json?.['access_token'];
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new StrataError('E_TOOL_ERROR', `${where} returned no access_token`);
  }
  const refreshToken = json?.['refresh_token'];
  const expiresIn = json?.['expires_in'];
  return {
    accessToken,
    refreshToken: typeof refreshToken === 'string' && refreshToken !== '' ? refreshToken : undefined,
    expiresInS: typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : undefined,
  };
}
