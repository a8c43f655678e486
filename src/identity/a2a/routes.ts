/**
 * @module identity/a2a/routes
 * HTTP surface of the A2A agents, as a Hono sub-app mounted at the root (well-known paths live at
 * the host root):
 *
 * - `GET /.well-known/agent-card.json` — the default agent's signed card; per agent
 *   `GET /a2a/<agent>/.well-known/agent-card.json` (ETag, 304, CORS, one hour cache).
 * - `POST /a2a/<agent>` — the JSON-RPC 2.0 binding, dispatched by the SDK's
 *   `JsonRpcTransportHandler`; streaming methods answer with SSE.
 * - `POST /a2a/<agent>/pop` — proof-of-possession challenge `{nonce}` → `{jws}`.
 * - `GET /a2a/jwks.json` — the card keys; `GET /.well-known/ai-catalog.json` — the AI catalog.
 *
 * `A2A-Version`: this server speaks 1.0 only. A request without the header is, per the spec
 * (§3.6.2), an A2A 0.3 request; 0.3 is not wire-compatible, so it is refused with
 * VersionNotSupportedError (JSON-RPC -32009) naming the supported version. Invalid JSON answers
 * -32700, other malformed envelopes -32600/-32602, unknown methods -32601 (JSON-RPC 2.0 codes).
 */
import { createHash } from 'node:crypto';
import {
  A2A_VERSION_HEADER,
  AgentCard,
  formatSSEErrorEvent,
  formatSSEEvent,
  HTTP_EXTENSION_HEADER,
  SSE_HEADERS,
} from '@a2a-js/sdk';
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors';
import { Extensions } from '@a2a-js/sdk';
import {
  defaultServerCallContextBuilder,
  JsonRpcTransportHandler,
  UnauthenticatedUser,
  validateVersion,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import { Hono, type Context } from 'hono';
import { isStrataError } from '../../kernel/errors.ts';
import { systemClock } from '../../kernel/index.ts';
import { agentUrl } from './card.ts';
import { AI_CATALOG_MEDIA_TYPE, buildAiCatalog } from './catalog.ts';
import { answerChallenge } from './pop.ts';
import type { A2aExposedAgent, A2aService } from './service.ts';

/** @default 1 MiB: JSON-RPC bodies are messages, not uploads. */
const DEFAULT_BODY_LIMIT = 1 << 20;

type RpcResponse = Awaited<ReturnType<JsonRpcTransportHandler['handle']>>;

const rpcError = (id: unknown, code: number, message: string) => ({
  jsonrpc: '2.0' as const,
  id: typeof id === 'string' || typeof id === 'number' ? id : null,
  error: { code, message },
});

/** Serves a public JSON document with an ETag, 304 on a match, CORS and a cache lifetime. */
function publicJson(c: Context, body: unknown, mediaType = 'application/json'): Response {
  const json = JSON.stringify(body);
  const etag = `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
  const headers = {
    etag,
    'cache-control': 'public, max-age=3600',
    'access-control-allow-origin': '*',
    vary: A2A_VERSION_HEADER,
  };
  if (c.req.header('if-none-match') === etag) return new Response(null, { status: 304, headers });
  return new Response(json, { status: 200, headers: { ...headers, 'content-type': mediaType } });
}

/** The Hono sub-app for a service's agents. */
export function a2aRoutes(service: A2aService, options: { bodyLimitBytes?: number } = {}): Hono {
  const app = new Hono();
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const transports = new Map(
    [...service.agents].map(([name, a]) => [name, new JsonRpcTransportHandler(a.handler)]),
  );
  const clock = service.options.clock ?? systemClock;
  const agentOf = (c: Context): A2aExposedAgent | undefined => service.agents.get(c.req.param('agent') ?? '');
  const notFound = (c: Context) =>
    c.json({ error: { code: 'E_NOT_FOUND', message: 'no such A2A agent' } }, 404);

  app.get('/.well-known/agent-card.json', (c) => {
    const agent = service.agents.get(service.defaultAgent);
    return agent ? publicJson(c, AgentCard.toJSON(agent.card)) : notFound(c);
  });
  app.get('/a2a/:agent/.well-known/agent-card.json', (c) => {
    const agent = agentOf(c);
    return agent ? publicJson(c, AgentCard.toJSON(agent.card)) : notFound(c);
  });
  app.get('/a2a/jwks.json', (c) => publicJson(c, service.jwks(), 'application/jwk-set+json'));
  app.get('/.well-known/ai-catalog.json', (c) =>
    publicJson(c, buildAiCatalog(service), AI_CATALOG_MEDIA_TYPE),
  );

  app.post('/a2a/:agent/pop', async (c) => {
    const agent = agentOf(c);
    if (!agent) return notFound(c);
    const body = (await c.req.json().catch(() => null)) as { nonce?: unknown } | null;
    const nonce = typeof body?.nonce === 'string' ? body.nonce : '';
    try {
      const jws = await answerChallenge(agent.signer, {
        nonce,
        audience: agentUrl(service.options.baseUrl, agent.name),
        now: clock.now(),
      });
      return c.json({ jws }, 200, { 'cache-control': 'no-store' });
    } catch (error) {
      if (isStrataError(error)) return c.json({ error: error.toJSON() }, 400);
      throw error;
    }
  });

  app.post('/a2a/:agent', async (c) => {
    const agent = agentOf(c);
    const transport = transports.get(agent?.name ?? '');
    if (!agent || !transport) return notFound(c);
    const declared = Number(c.req.header('content-length') ?? 0);
    const text = declared > limit ? null : await c.req.text();
    if (text === null || Buffer.byteLength(text) > limit) {
      return c.json(
        rpcError(null, A2A_ERROR_CODE.INVALID_REQUEST, `request body exceeds ${limit} bytes`),
        413,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return c.json(rpcError(null, A2A_ERROR_CODE.PARSE_ERROR, 'Invalid JSON payload.'));
    }
    const id = (body as { id?: unknown } | null)?.id;
    const user = service.options.authenticate
      ? await service.options.authenticate(c.req.raw)
      : new UnauthenticatedUser();
    if (!user) {
      return c.json(rpcError(id, A2A_ERROR_CODE.INVALID_REQUEST, 'authentication required'), 401, {
        'www-authenticate': 'Bearer',
      });
    }
    const context = defaultServerCallContextBuilder({
      extensions: Extensions.parseServiceParameter(c.req.header(HTTP_EXTENSION_HEADER)),
      user,
      headers: Object.fromEntries(c.req.raw.headers),
      requestedVersion: c.req.header(A2A_VERSION_HEADER) || undefined,
    });
    let result: RpcResponse;
    try {
      validateVersion(context.requestedVersion, agent.card, 'JSONRPC');
      result = await transport.handle(body as Record<string, unknown>, context);
      // Task saves may be held for a turn (task-store.ts): what the answer reports must be durable.
      if (!(Symbol.asyncIterator in result)) await agent.tasks.flush();
      await tellCancelled(service, agent.name, body, result);
    } catch (error) {
      const mapped = JsonRpcTransportHandler.mapToJSONRPCError(error);
      return c.json(
        { jsonrpc: '2.0', id: rpcError(id, 0, '').id, error: mapped },
        mapped.code === A2A_ERROR_CODE.INTERNAL_ERROR ? 500 : 200,
      );
    }
    return Symbol.asyncIterator in result
      ? sseResponse(result, { id, context, flush: () => agent.tasks.flush() })
      : c.json(result);
  });
  return app;
}

/**
 * A task cancelled while nothing executes it (e.g. waiting in INPUT_REQUIRED) is marked CANCELED
 * by the SDK without the executor hearing of it: tell the service's `onCancelled`, so whatever
 * backs the task (a durable run) stops too.
 */
async function tellCancelled(
  service: A2aService,
  agent: string,
  body: unknown,
  result: unknown,
): Promise<void> {
  const request = body as { method?: unknown; params?: { id?: unknown } } | null;
  const ok = typeof result === 'object' && result !== null && !('error' in result);
  if (ok && request?.method === 'CancelTask' && typeof request.params?.id === 'string') {
    await service.options.onCancelled?.(agent, request.params.id);
  }
}

/** Streams JSON-RPC responses as SSE; an error before the first event is a plain JSON-RPC answer. */
async function sseResponse(
  stream: AsyncGenerator<unknown, void, undefined>,
  args: { id: unknown; context: ServerCallContext; flush: () => Promise<void> },
): Promise<Response> {
  const errorBody = (error: unknown) => ({
    jsonrpc: '2.0',
    id: rpcError(args.id, 0, '').id,
    error: JsonRpcTransportHandler.mapToJSONRPCError(error),
  });
  let first: IteratorResult<unknown, void>;
  try {
    first = await stream.next();
    await args.flush();
  } catch (error) {
    return Response.json(errorBody(error));
  }
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (!first.done) controller.enqueue(encoder.encode(formatSSEEvent(first.value)));
    },
    async pull(controller) {
      try {
        const next = await stream.next();
        await args.flush();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(formatSSEEvent(next.value)));
      } catch (error) {
        controller.enqueue(encoder.encode(formatSSEErrorEvent(errorBody(error))));
        controller.close();
      }
    },
    async cancel() {
      await stream.return(undefined);
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
