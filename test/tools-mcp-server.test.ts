/**
 * Strata as an MCP server, driven by the official SDK client: `/mcp` over Streamable HTTP on a real
 * socket, and `strata mcp` over stdio as a child process. The caller sees only the syscalls and
 * tools its grants allow, and calls go through the kernel pipeline (so they are audited).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startServer, type ServerHandle } from '../src/server/index.ts';
import { openTestEnv, type ServerTestEnv } from '../src/server/testing.ts';
import { defineTool } from '../src/tools/index.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

void describe('Strata as an MCP server', () => {
  let env: ServerTestEnv;
  let handle: ServerHandle;
  let narrowKey: string;

  before(async () => {
    env = await openTestEnv();
    env.runtime.tools.register(
      defineTool({
        name: 'math.add',
        description: 'Adds two numbers.',
        input: z.object({ a: z.number(), b: z.number() }).strict(),
        output: z.object({ sum: z.number() }),
        handler: ({ a, b }) => ({ sum: a + b }),
      }),
    );
    const { tenantId } = await env.tenant();
    ({ key: narrowKey } = await env.key(tenantId, [
      { syscall: 'kernel.echo', resource: '*' },
      { syscall: 'tools.call', resource: 'tools/math/*' },
    ]));
    handle = await startServer({ runtime: env.runtime, port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await handle.close();
    await env.close();
  });

  const connect = async (key: string): Promise<Client> => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${handle.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    return client;
  };

  void it('lists only the granted syscalls and tools, and calls kernel.echo', async () => {
    const client = await connect(narrowKey);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['kernel.echo', 'math.add', 'tools.call']);
    const echo = await client.callTool({ name: 'kernel.echo', arguments: { message: 'hi from MCP' } });
    assert.deepEqual(echo.structuredContent, { message: 'hi from MCP', hadSecret: false });
    const sum = await client.callTool({ name: 'math.add', arguments: { a: 2, b: 5 } });
    assert.deepEqual(sum.structuredContent, { sum: 7 });
    const denied = await client.callTool({ name: 'kernel.time', arguments: {} });
    assert.equal(denied.isError, true);
    assert.match(JSON.stringify(denied.content), /E_CAPABILITY_DENIED/);
    const invalid = await client.callTool({ name: 'kernel.echo', arguments: { message: 5 } });
    assert.equal(invalid.isError, true);
    assert.match(JSON.stringify(invalid.content), /E_INVALID_INPUT/);
    await client.close();
    await env.kernel.audit.flush();
    const rows = await env.kernel.store.all<{ action: string; outcome: string }>(
      "SELECT action, outcome FROM kernel_audit WHERE action IN ('kernel.echo', 'kernel.time', 'tools.call')",
    );
    assert.ok(rows.some((r) => r.action === 'kernel.echo' && r.outcome === 'ok'));
    assert.ok(rows.some((r) => r.action === 'tools.call' && r.outcome === 'ok'));
    assert.ok(rows.some((r) => r.action === 'kernel.time' && r.outcome === 'denied'));
  });

  void it('refuses a client without valid credentials', async () => {
    await assert.rejects(connect('sk_not_a_real_key_0000000000000000'));
    const res = await fetch(`${handle.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 401);
  });

  void it('`strata mcp` serves the same over stdio', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MAIN, 'mcp', '--data-dir', env.runtime.config.dataDir, '--key', narrowKey],
      stderr: 'pipe',
    });
    await client.connect(transport);
    const { tools } = await client.listTools();
    // Native tools are registered in process only; the stdio process has the syscalls.
    assert.deepEqual(tools.map((t) => t.name).sort(), ['kernel.echo', 'tools.call']);
    const echo = await client.callTool({ name: 'kernel.echo', arguments: { message: 'over stdio' } });
    assert.deepEqual(echo.structuredContent, { message: 'over stdio', hadSecret: false });
    await client.close();
  });
});
