/**
 * @module models/provider-errors
 * Turns whatever a provider SDK throws into the one error family, so retries and fallbacks branch
 * on codes: 429 → E_RATE_LIMITED (with data.retryAfterMs from `retry-after-ms` / `Retry-After`),
 * 5xx and connection failures → E_MODEL_UNAVAILABLE, other 4xx → E_MODEL_REJECTED, a body that is
 * not the wire format → E_MODEL_BAD_RESPONSE (retryable when only a tool call's arguments do not
 * parse: {@link malformedToolCall}). Provider messages can echo request content, so only
 * the status and the provider's name travel in the error, never the upstream text.
 */
import { isStrataError, StrataError } from '../kernel/index.ts';

type HeaderBag = { get(name: string): string | null } | Record<string, string | undefined> | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  return (headers as Record<string, string | undefined>)[name];
}

/** Milliseconds the provider asked us to wait, from `retry-after-ms` or `Retry-After` (seconds or a date). */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = header(headers, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function badResponse(provider: string, why: string): StrataError {
  return new StrataError('E_MODEL_BAD_RESPONSE', `${provider} answered with a malformed response: ${why}`, {
    provider,
  });
}

/**
 * Tool-call arguments (or a tool's input) that do not parse: a glitch of one sampled answer, not of
 * the wire format, so unlike other malformed responses it is retryable: the service asks again
 * (or its route's next target), and a streamed call is made again after its partial output.
 */
export function malformedToolCall(provider: string, why = 'tool call arguments are not JSON'): StrataError {
  return new StrataError(
    'E_MODEL_BAD_RESPONSE',
    `${provider} answered with a malformed tool call: ${why}`,
    { provider, malformed: 'tool_call' },
    { retryable: true },
  );
}

/** Maps an SDK error (or anything thrown while talking to a provider) to a StrataError. */
export function providerError(provider: string, error: unknown, signal?: AbortSignal): unknown {
  if (isStrataError(error)) return error;
  // Thrown by our own `fetch` (an injected outage, models/chaos-faults.ts), wrapped by the SDK.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (isStrataError(cause) && !signal?.aborted) return cause;
  // Our own abort (timeout or caller): keep the reason the caller gave.
  if (signal?.aborted) return signal.reason ?? error;
  const e = error as { status?: unknown; headers?: HeaderBag; name?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status === 429) {
    const wait = retryAfterMs(e.headers);
    return new StrataError('E_RATE_LIMITED', `${provider} rate-limited the call (429)`, {
      provider,
      status,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  if (status !== undefined && status >= 500)
    return new StrataError('E_MODEL_UNAVAILABLE', `${provider} failed with HTTP ${status}`, {
      provider,
      status,
    });
  if (status !== undefined && status >= 400)
    return new StrataError('E_MODEL_REJECTED', `${provider} refused the request with HTTP ${status}`, {
      provider,
      status,
    });
  // The openai SDK's error classes keep `name` "Error": their class name says what happened.
  const name = `${typeof e.name === 'string' ? e.name : ''} ${(error as object | null)?.constructor?.name ?? ''}`;
  if (/Connection|Timeout|Fetch/i.test(name) || (error instanceof TypeError && /fetch/i.test(error.message)))
    return new StrataError('E_MODEL_UNAVAILABLE', `${provider} could not be reached`, { provider });
  if (error instanceof SyntaxError) return badResponse(provider, 'invalid JSON');
  return badResponse(provider, error instanceof Error ? error.name : 'unexpected value');
}
