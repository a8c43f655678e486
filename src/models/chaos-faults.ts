/**
 * @module models/chaos-faults
 * Where the models layer realises chaos's named faults (kernel/chaos), so the model service's
 * retries, Retry-After pauses and fallbacks meet them exactly as they meet a real provider's:
 *
 * - HTTP drivers: {@link chaosFetch} is the `fetch` their SDK uses. A faulted attempt gets a real
 *   HTTP 429 with `retry-after-ms` or a 500 from it, a request that never answers (the SDK's or
 *   the syscall's timeout ends it), or the provider's real response with each tool call's
 *   arguments cut to invalid JSON (OpenAI wire format: the `arguments` string; Anthropic: `input`),
 *   in a JSON body or, streamed, in the server-sent events as they arrive. A provider in an
 *   outage is unreachable: its fetch fails where a refused connection fails, with an error marked
 *   injected.
 * - The scripted provider: {@link scriptedFault} throws what the HTTP drivers' error mapping makes
 *   of the same statuses, waits for the abort, or reports the malformed tool call as they do (its
 *   stream sends the broken arguments first, as a provider's stream would).
 */
import { AsyncResource } from 'node:async_hooks';
import {
  chaosFaultPlanned,
  chaosProviderDown,
  hangUntilAborted,
  StrataError,
  takeChaosFault,
} from '../kernel/index.ts';
import { providerError } from './provider-errors.ts';

/** How long an injected 429 asks the caller to wait. */
export const INJECTED_RETRY_AFTER_MS = 50;
/** What a broken tool call's arguments become: a JSON object cut short. */
export const BROKEN_TOOL_JSON = '{"injected": "malformed tool call';

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

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

/** A tool call's arguments piece in one streamed event, by the call it belongs to. */
type Piece = { key: string; set(value: string): void };

/** OpenAI chunks: `choices[].delta.tool_calls[].function.arguments`; Anthropic: `input_json_delta`. */
function argumentPieces(event: unknown): Piece[] {
  if (typeof event !== 'object' || event === null) return [];
  const e = event as {
    choices?: { delta?: { tool_calls?: { index?: number; function?: { arguments?: unknown } }[] } }[];
    type?: string;
    index?: number;
    delta?: { type?: string; partial_json?: unknown };
  };
  const pieces: Piece[] = [];
  for (const [c, choice] of (Array.isArray(e.choices) ? e.choices : []).entries())
    for (const call of choice.delta?.tool_calls ?? []) {
      const fn = call.function;
      if (fn && typeof fn.arguments === 'string' && fn.arguments !== '')
        pieces.push({ key: `${c}:${call.index}`, set: (v) => (fn.arguments = v) });
    }
  const delta = e.delta;
  if (e.type === 'content_block_delta' && delta?.type === 'input_json_delta' && delta.partial_json)
    pieces.push({ key: `block:${e.index}`, set: (v) => (delta.partial_json = v) });
  return pieces;
}

/**
 * A server-sent event stream whose tool-call arguments are broken as they stream: the first piece
 * of each call becomes {@link BROKEN_TOOL_JSON}, its later pieces empty. `take` is asked at the first
 * piece, so a stream without a tool call passes untouched and the fault is not claimed.
 */
function breakStreamedToolCalls(
  body: ReadableStream<Uint8Array>,
  take: () => boolean,
): ReadableStream<Uint8Array> {
  let broken: boolean | undefined;
  const started = new Set<string>();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = '';
  const rewrite = (line: string): string => {
    if (broken === false || !line.startsWith('data:')) return line;
    let event: unknown;
    try {
      event = JSON.parse(line.slice(5));
    } catch {
      return line; // `[DONE]`, or data split over several lines: no tool call of ours to break
    }
    const pieces = argumentPieces(event);
    if (pieces.length === 0) return line;
    broken ??= take();
    if (!broken) return line;
    for (const piece of pieces) {
      piece.set(started.has(piece.key) ? '' : BROKEN_TOOL_JSON);
      started.add(piece.key);
    }
    return `data: ${JSON.stringify(event)}${line.endsWith('\r') ? '\r' : ''}`;
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) controller.enqueue(encoder.encode(`${rewrite(line)}\n`));
      },
      flush(controller) {
        pending += decoder.decode();
        if (pending) controller.enqueue(encoder.encode(rewrite(pending)));
      },
    }),
  );
}

/**
 * What a provider in an injected outage fails with: unreachable (E_MODEL_UNAVAILABLE, as a refused
 * connection is), and marked injected like the pipeline's own injected errors, so a run that fails
 * on it is linked to the fault in the reliability report.
 */
function providerDown(provider: string, rule: string): StrataError {
  return new StrataError(
    'E_MODEL_UNAVAILABLE',
    `${provider} could not be reached (injected outage)`,
    { provider, injected: true, layer: 'models', kind: 'outage', rule },
    { retryable: true },
  );
}

/** A `fetch` for the SDK of provider `provider` that realises the models layer's named faults. */
export function chaosFetch(provider: string, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    // Thrown where a refused connection throws: the SDK wraps it as its connection error, whose
    // cause the error mapping (provider-errors.ts) hands on.
    const outage = chaosProviderDown(provider);
    if (outage) throw providerDown(provider, outage.rule);
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
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && response.body && type.includes('text/event-stream')) {
      // The stream is read after this call returns: the fault is taken in this attempt's scope.
      const take = AsyncResource.bind(() => takeChaosFault('models', 'malformed_tool_json'));
      const body = breakStreamedToolCalls(response.body, take);
      return new Response(body, { status: response.status, headers: headersOf(response) });
    }
    if (!response.ok || !type.includes('application/json')) return response;
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
      for (const call of calls) if (call.function) call.function.arguments = BROKEN_TOOL_JSON;
      for (const use of uses) use.input = BROKEN_TOOL_JSON;
    }
    return jsonResponse(response.status, body, headersOf(response));
  };
}

/**
 * The scripted provider's version of the transport faults, asked before its script is consumed:
 * fails as an unreachable provider while its outage lasts, throws what the HTTP drivers make of a
 * 429 or a 500, or waits for the abort. Resolves otherwise.
 */
export async function scriptedFault(
  provider: string,
  request: { signal?: AbortSignal; timeoutMs: number },
): Promise<void> {
  const outage = chaosProviderDown(provider);
  if (outage) throw providerDown(provider, outage.rule);
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

/**
 * Whether the scripted reply's tool calls are to be broken (takes the fault only when there is
 * one): `generate` then throws `malformedToolCall` (provider-errors.ts) as the HTTP drivers' parse does; a stream
 * sends {@link BROKEN_TOOL_JSON} as the arguments first, then fails the same way.
 */
export function scriptedToolCallsBroken(toolCalls: number): boolean {
  return toolCalls > 0 && takeChaosFault('models', 'malformed_tool_json');
}
