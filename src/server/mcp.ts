/**
 * @module server/mcp
 * `/mcp`: Strata as an MCP server over Streamable HTTP (MCP 2025-06-18 and later), stateless: each
 * POST is authenticated like every `/v1` request (Bearer API key or capability token), answered by
 * a fresh MCP server acting for that caller, and answered with JSON. The caller sees exactly the
 * syscalls and tools its grants allow (see `tools/mcp/strata-server.ts`); every call still goes
 * through the kernel pipeline.
 *
 * `GET /mcp/server-card` (public, it is discovery): the MCP Server Card of this endpoint, with an
 * ETag (304 on `If-None-Match`), CORS and a cache lifetime; `/.well-known/mcp/server-card.json`
 * is the same card at the location older clients look. The card's URL is built from the request's
 * origin, so it names the endpoint the way the client reached it.
 */
import { Hono, type Context } from 'hono';
import { etag } from 'hono/etag';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Kernel } from '../kernel/index.ts';
import { createStrataMcpServer, SERVER_CARD_MEDIA_TYPE, strataServerCard } from '../tools/index.ts';
import { authenticate } from './auth.ts';
import type { AppEnv } from './types.ts';

export function mcpRoutes(kernel: Kernel, options: { bodyLimitBytes: number }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', authenticate(kernel));
  app.all('/', async (c) => {
    const server = await createStrataMcpServer({ kernel, principal: c.get('principal') });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.bodyLimitBytes,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(c.req.raw);
    } finally {
      // JSON mode: the response is complete once handleRequest resolves.
      await server.close();
    }
  });
  return app;
}

/** The server card routes; mount at the root, before `/mcp` (whose routes all authenticate). */
export function mcpCardRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Scoped to the card: mounted at the root, '*' would hash (and buffer) every response, streams too.
  for (const path of ['/mcp/server-card', '/.well-known/mcp/server-card.json']) app.use(path, etag());
  const card = (c: Context<AppEnv>): Response => {
    const body = JSON.stringify(strataServerCard(new URL('/mcp', c.req.url).href));
    // The draft asks for its media type when the client asks for it; older clients expect JSON.
    const type = c.req.header('accept')?.includes(SERVER_CARD_MEDIA_TYPE)
      ? SERVER_CARD_MEDIA_TYPE
      : 'application/json';
    return new Response(body, {
      headers: {
        'content-type': type,
        'cache-control': 'public, max-age=300',
        'access-control-allow-origin': '*',
        vary: 'Accept',
      },
    });
  };
  app.get('/mcp/server-card', card);
  app.get('/.well-known/mcp/server-card.json', card);
  return app;
}
