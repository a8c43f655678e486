/**
 * @module models/chaos-faults
 * Where the models layer realises chaos's named faults (kernel/chaos), so the model service's
 * retries, Retry-After pauses and fallbacks meet them exactly as they meet a real provider's:
 *
 * - HTTP drivers: {@link chaosFetch} is the `fetch` their SDK uses. A faulted attempt gets a real
 *   HTTP 429 with `retry-after-ms` or a 500 from it, a request that never answers (the SDK's or
 *   the syscall's timeout ends it), or the provider's real response with each tool call's
 *   arguments cut to invalid JSON (OpenAI wire format: the `arguments` string; Anthropic: `input`).
 * - The scripted provider: {@link scriptedFault} throws what the HTTP drivers' error mapping makes
 *   of the same statuses, waits for the abort, or reports the malformed tool call as they do.
 */
import { chaosFaultPlanned, StrataError, takeChaosFault } from '../kernel/index.ts';
import { badResponse, providerError } from './provider-errors.ts';

/** How long an injected 429 asks the caller to wait. */
export const INJECTED_RETRY_AFTER_MS = 50;
const BROKEN_JSON = '{"injected": "malformed tool call';

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** Never settles until `signal` aborts; then rejects with its reason, as a hung connection would. */
function hangUntilAborted(signal: AbortSignal | null | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

type Choices = { message?: { tool_calls?: { function?: { arguments?: string } }[] | null } }[];
type Blocks = { type?: string; input?: unknown }[];

/** The tool calls of a non-streamed completion (OpenAI `choices`, Anthropic `content` blocks). */
function toolCallsOf(body: Record<string, unknown>): { function?: { arguments?: string } }[] {
  const choices = Array.isArray(body['choices']) ? (body['choices'] as Choices) : [];
  return choices.flatMap((c) => c.message?.tool_calls ?? []);
}

function toolUsesOf(body: Record<string, unknown>): Blocks {
  const blocks = Array.isArray(body['content']) ? (body['content'] as Blocks) : [];
  return blocks.filter((b) => b.type === 'tool_use');
}

/** Headers of a rewritten body: its length and encoding are no longer those of the original. */
function headersOf(response: Response): Record<string, string> {
  const dropped = new Set(['content-length', 'content-encoding', 'transfer-encoding']);
  return Object.fromEntries([...response.headers].filter(([name]) => !dropped.has(name)));
}

/** A `fetch` for provider SDKs that realises the models layer's named faults. */
export function chaosFetch(base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    if (takeChaosFault('models', 'http_429'))
      return jsonResponse(
        429,
        { error: { type: 'rate_limit_error', message: 'rate limited (injected)' } },
        { 'retry-after-ms': String(INJECTED_RETRY_AFTER_MS) },
      );
    if (takeChaosFault('models', 'http_500'))
      return jsonResponse(500, { error: { type: 'api_error', message: 'internal error (injected)' } });
    if (takeChaosFault('models', 'model_timeout')) return hangUntilAborted(init?.signal);
    // Without a malformed_tool_json fault waiting, the response passes through untouched.
    if (!chaosFaultPlanned('models', 'malformed_tool_json')) return base(input, init);
    const response = await base(input, init);
    if (!response.ok || !response.headers.get('content-type')?.includes('application/json')) return response;
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return new Response(text, { status: response.status, headers: headersOf(response) });
    }
    const calls = toolCallsOf(body);
    const uses = toolUsesOf(body);
    // Taken only when there is a tool call to break: a fault is never claimed without happening.
    if (calls.length + uses.length > 0 && takeChaosFault('models', 'malformed_tool_json')) {
      for (const call of calls) if (call.function) call.function.arguments = BROKEN_JSON;
      for (const use of uses) use.input = BROKEN_JSON;
    }
    return jsonResponse(response.status, body, headersOf(response));
  };
}

/**
 * The scripted provider's version of the transport faults, asked before its script is consumed:
 * throws what the HTTP drivers make of a 429 or a 500, or waits for the abort. Resolves otherwise.
 */
export async function scriptedFault(
  provider: string,
  request: { signal?: AbortSignal; timeoutMs: number },
): Promise<void> {
  if (takeChaosFault('models', 'http_429'))
    throw providerError(provider, {
      status: 429,
      headers: { 'retry-after-ms': String(INJECTED_RETRY_AFTER_MS) },
    });
  if (takeChaosFault('models', 'http_500')) throw providerError(provider, { status: 500 });
  if (takeChaosFault('models', 'model_timeout')) {
    // The provider's own timeout ends the wait, as the SDKs' does, unless the caller gives up first.
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const either = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    await hangUntilAborted(either).catch((error: unknown) => {
      if (request.signal?.aborted) throw error;
      throw new StrataError(
        'E_MODEL_UNAVAILABLE',
        `${provider} did not answer within ${request.timeoutMs} ms`,
        {
          provider,
        },
      );
    });
  }
}

/** After the scripted reply: a reply with tool calls fails as the HTTP drivers' parse does. */
export function scriptedToolCallFault(provider: string, toolCalls: number): void {
  if (toolCalls > 0 && takeChaosFault('models', 'malformed_tool_json'))
    throw badResponse(provider, 'tool call arguments are not JSON');
}
