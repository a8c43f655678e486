/**
 * @module server/types
 * Types shared by the HTTP app's middleware and routes.
 *
 * Glossary
 * - **Credential**: what a request presents in `Authorization: Bearer …`, an API key (`sk_…`) or a
 *   capability token (a JWS, three dot-separated base64url parts).
 * - **Principal**: who the kernel resolved the credentials to; every syscall runs as it.
 * - **Request id**: `X-Request-Id`, taken from the request when well-formed, else generated; it is
 *   on every response and every log line about the request, so a user can quote it in a report.
 */
import type { Principal } from '../kernel/index.ts';

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by the authentication middleware on every `/v1` route except the OpenAPI document. */
    principal: Principal;
  };
}
