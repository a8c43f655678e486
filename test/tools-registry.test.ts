/**
 * The registry with native tools: JSON Schemas from zod, per-tool rate limits, cost and outcome
 * recorded by the pipeline (audit), statistics, invalid output, unknown tools; and the vault's
 * OAuth2 refresh shortly before expiry against a local token endpoint.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { isStrataError, ManualClock } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { defineTool, Vault } from '../src/tools/index.ts';
import { openToolsEnv, type ToolsTestEnv } from '../src/tools/testing.ts';

const codeOf = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(isStrataError(error), String(error));
    return error.code;
  }
  return assert.fail('expected an error');
};

void describe('tool registry with native tools', () => {
  let env: ToolsTestEnv;
  before(async () => {
    env = await openToolsEnv();
    env.tools.register(
      defineTool({
        name: 'math.add',
        description: 'Adds two numbers.',
        input: z.object({ a: z.number(), b: z.number() }).strict(),
        output: z.object({ sum: z.number() }),
        costMicros: 250,
        rateLimit: { perSecond: 0.001, burst: 3 },
        handler: ({ a, b }) => ({ sum: a + b }),
      }),
    );
    env.tools.register(
      defineTool({
        name: 'math.broken',
        description: 'Returns the wrong shape.',
        input: z.object({}),
        output: z.object({ sum: z.number() }),
        handler: () => ({ sum: 'NaN' }) as unknown as { sum: number },
      }),
    );
  });
  after(() => env.close());

  void it('publishes JSON Schemas derived from zod', async () => {
    const { tools } = await env.call<{ tools: { name: string; inputSchema: { required?: string[] } }[] }>(
      'tools.list',
      {
        source: 'native',
      },
    );
    const add = tools.find((t) => t.name === 'math.add');
    assert.deepEqual(add?.inputSchema.required, ['a', 'b']);
  });

  void it('meters cost and audits each call under the tool resource; rate limits per tool', async () => {
    const out = await env.call<{ structuredContent: unknown; costMicros: number }>('tools.call', {
      tool: 'math.add',
      arguments: { a: 1, b: 2 },
    });
    assert.deepEqual(out.structuredContent, { sum: 3 });
    assert.equal(out.costMicros, 250);
    await env.call('tools.call', { tool: 'math.add', arguments: { a: 1, b: 2 } });
    await env.call('tools.call', { tool: 'math.add', arguments: { a: 1, b: 2 } });
    await assert.rejects(
      env.call('tools.call', { tool: 'math.add', arguments: { a: 1, b: 2 } }),
      (error: unknown) =>
        isStrataError(error) &&
        error.code === 'E_RATE_LIMITED' &&
        (error.data as { retryAfterMs: number }).retryAfterMs > 0,
    );
    await env.kernel.audit.flush();
    const rows = await env.kernel.store.all<{ resource: string; outcome: string; cost_micros: number }>(
      "SELECT resource, outcome, cost_micros FROM kernel_audit WHERE action = 'tools.call' ORDER BY seq",
    );
    assert.deepEqual(
      rows.map((r) => [r.resource, r.outcome, Number(r.cost_micros)]),
      [
        ['tools/math/add', 'ok', 250],
        ['tools/math/add', 'ok', 250],
        ['tools/math/add', 'ok', 250],
        ['tools/math/add', 'error', 0],
      ],
    );
    const described = await env.call<{ stats: { calls: number; errors: number } }>('tools.describe', {
      tool: 'math.add',
    });
    assert.equal(described.stats.calls, 3);
  });

  void it('a native tool returning invalid output is E_TOOL_ERROR; an unknown tool is E_NOT_FOUND', async () => {
    assert.equal(
      await codeOf(env.call('tools.call', { tool: 'math.broken', arguments: {} })),
      'E_TOOL_ERROR',
    );
    assert.equal(
      await codeOf(env.call('tools.call', { tool: 'math.nothing', arguments: {} })),
      'E_NOT_FOUND',
    );
    assert.equal(await codeOf(env.call('tools.call', { tool: 'mcp.none.x', arguments: {} })), 'E_NOT_FOUND');
  });
});

void describe('vault OAuth2 refresh before expiry', () => {
  void it('refreshes an access token that is about to expire, before the call', async () => {
    const grants: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        grants.push(new URLSearchParams(body).get('grant_type') ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ access_token: `at-${grants.length}`, expires_in: 600, refresh_token: 'rt-1' }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const store = await createSqliteStore({ path: ':memory:' });
    const clock = new ManualClock(1_700_000_000_000);
    try {
      const vault = await Vault.open({ store, masterKey: Buffer.alloc(32, 7), clock });
      const tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
      await vault.connect('t1', {
        name: 'api',
        secrets: { clientSecret: 'cs' },
        meta: { tokenUrl, clientId: 'c' },
      });
      assert.equal((await vault.inject('t1', 'api', 'a')).headers['Authorization'], 'Bearer at-1');
      clock.advance(500_000); // 100 s left: still outside the 60 s refresh window
      assert.equal((await vault.inject('t1', 'api', 'a')).headers['Authorization'], 'Bearer at-1');
      clock.advance(50_000); // 50 s left: refreshed before use, with the refresh token
      assert.equal((await vault.inject('t1', 'api', 'a')).headers['Authorization'], 'Bearer at-2');
      assert.deepEqual(grants, ['client_credentials', 'refresh_token']);
    } finally {
      await store.close();
      server.close();
    }
  });
});
