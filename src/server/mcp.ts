/**
 * @module server/mcp
 * `/mcp`: Strata as an MCP server over Streamable HTTP (MCP 2025-06-18 and later), stateless: each
 * POST is authenticated like every `/v1` request (Bearer API key or capability token), answered by
 * a fresh MCP server acting for that caller, and answered with JSON. The caller sees exactly the
 * syscalls and tools its grants allow (see `tools/mcp/strata-server.ts`); every call still goes
 * through the kernel pipeline.
 */
import { Hono } from 'hono';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Kernel } from '../kernel/index.ts';
import { createStrataMcpServer } from '../tools/index.ts';
import { authenticate } from './auth.ts';
import type { AppEnv } from './types.ts';

export function mcpRoutes(kernel: Kernel, options: { bodyLimitBytes: number }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', authenticate(kernel));
  app.all('/', async (c) => {
    const server = createStrataMcpServer({ kernel, principal: c.get('principal') });
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
