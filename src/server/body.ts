/**
 * @module server/body
 * Reading a syscall's JSON input from a request, with every failure a 4xx and a stable code before
 * anything reaches the kernel:
 * - larger than `server.bodyLimitBytes` → 413 E_PAYLOAD_TOO_LARGE. Hono's `bodyLimit` trusts
 *   `Content-Length` when present (Node's parser refuses a body longer than it announces) and counts
 *   the bytes of a chunked body as they stream, so neither shape can slip past the limit;
 * - a body whose `Content-Type` is not JSON → 400 E_BAD_REQUEST;
 * - malformed JSON → 400 E_BAD_REQUEST.
 * An empty body is read as `{}`, so syscalls without input can be called with a bare POST.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { StrataError } from '../kernel/index.ts';
import type { AppEnv } from './types.ts';

/** `application/json`, or a structured `+json` type (RFC 6839), with any parameters. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;
/** Printable ASCII without spaces, as most APIs accept for `Idempotency-Key`. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const tooLarge = (maxBytes: number): StrataError =>
  new StrataError('E_PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBytes} bytes`, {
    limitBytes: maxBytes,
  });

export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
}

/** Parses the JSON body; see the module comment for the rules. */
export async function readJsonInput(c: Context<AppEnv>, maxBytes: number): Promise<unknown> {
  const type = c.req.header('content-type');
  if (type !== undefined && !JSON_MEDIA_TYPE.test(type)) {
    throw new StrataError('E_BAD_REQUEST', 'send the input as JSON with Content-Type: application/json', {
      contentType: type.slice(0, 100),
    });
  }
  const text = await c.req.text();
  // Defence in depth: in-process callers (`app.request`) or other adapters may not hold a body to
  // its Content-Length the way Node's HTTP parser does.
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge(maxBytes);
  if (text.trim() === '') return {};
  if (type === undefined) {
    throw new StrataError('E_BAD_REQUEST', 'set Content-Type: application/json on a request with a body');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the input, which may hold a secret: keep it out of the response.
    throw new StrataError('E_BAD_REQUEST', 'the request body is not valid JSON');
  }
}

/** The optional `Idempotency-Key` header, validated. */
export function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new StrataError('E_BAD_REQUEST', 'Idempotency-Key must be 1-255 printable ASCII characters');
  }
  return key;
}
