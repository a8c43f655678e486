/**
 * @module server/errors
 * The one place where anything thrown while serving a request becomes an HTTP response:
 * `status = error.httpStatus`, body `{ error: { code, message, data? } }`.
 *
 * Server-side failures (5xx other than the retryable "try again" codes) are logged with the request
 * id and answered with a generic message and no data: their messages may carry driver errors, SQL or
 * handler text, and the client can do nothing with them except quote the request id.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { coerceError, StrataError, type Logger, type StrataErrorCode } from '../kernel/index.ts';
import type { AppEnv } from './types.ts';

/** 5xx codes whose message is safe and useful to the client: they tell it to retry. */
const PUBLIC_SERVER_CODES = new Set<StrataErrorCode>([
  'E_UNAVAILABLE',
  'E_SHUTTING_DOWN',
  'E_SYSCALL_TIMEOUT',
]);

/** Hono's own HTTPException (thrown by its middleware) mapped onto our codes. */
function fromHttpException(error: HTTPException): StrataError {
  const code: StrataErrorCode =
    error.status === 413
      ? 'E_PAYLOAD_TOO_LARGE'
      : error.status === 401
        ? 'E_UNAUTHENTICATED'
        : error.status >= 400 && error.status < 500
          ? 'E_BAD_REQUEST'
          : 'E_INTERNAL';
  return new StrataError(code, error.message || code, undefined, { cause: error });
}

/** Turns any thrown value into the JSON error response; logs server-side failures. */
export function errorResponse(c: Context<AppEnv>, thrown: unknown, logger: Logger): Response {
  const error = thrown instanceof HTTPException ? fromHttpException(thrown) : coerceError(thrown);
  const status = error.httpStatus as ContentfulStatusCode;
  const requestId = c.get('requestId');
  if (status >= 500 && !PUBLIC_SERVER_CODES.has(error.code)) {
    logger.error({ requestId, code: error.code, err: error }, 'request failed');
    const message = `internal error; quote request id ${requestId} when reporting it`;
    return c.json({ error: { code: error.code, message } }, status);
  }
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="strata"');
  if (error.code === 'E_SHUTTING_DOWN') {
    // Tell keep-alive clients to reconnect, which lands them on another node (or a refused socket).
    c.header('Connection', 'close');
    c.header('Retry-After', '1');
  }
  if (error.code === 'E_PAYLOAD_TOO_LARGE') {
    // The rest of the upload is still on the wire: close the socket rather than read it (RFC 9110
    // §15.5.14), so a refused upload cannot hold a connection and its buffers.
    c.header('Connection', 'close');
  }
  return c.json({ error: error.toJSON() }, status);
}

export function onError(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => errorResponse(c, error, logger);
}

/** Unknown routes answer like every other error, with a code. Returns rather than throws: hono
 * calls the not-found handler outside its error handling. */
export function notFound(logger: Logger): NotFoundHandler<AppEnv> {
  return (c) => {
    const route = `${c.req.method} ${c.req.path.slice(0, 200)}`;
    const error = new StrataError('E_NOT_FOUND', `no route ${route}; see GET /v1/openapi.json`);
    return errorResponse(c, error, logger);
  };
}
