/**
 * The MCP client gateway against real MCP servers written with the official SDK, on 127.0.0.1: a
 * stdio server (spawned and supervised by Strata) and a Streamable HTTP server. Discovery,
 * calls, list_changed, restart after SIGKILL, timeouts, a server that never answers, invalid
 * output, schema validation before the network, and grants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isStrataError, type Principal } from '../src/kernel/index.ts';
import { eventually, openToolsEnv, type ToolsTestEnv } from '../src/tools/testing.ts';
import { startHttpFixture, type HttpFixture } from './fixtures/mcp-fixture/http.ts';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/mcp-fixture/${name}`, import.meta.url));

type Status = {
  name: string;
  health: string;
  restarts: number;
  pid?: number;
  tools: number;
  resources: number;
  prompts: number;
  lastError?: string;
};
type Result = {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isStrataError(error), String(error));
    return error.code;
  }
  assert.fail('expected an error');
}

void describe('MCP gateway with real SDK servers', () => {
  let env: ToolsTestEnv;
  let http: HttpFixture;
  const servers = async (): Promise<Status[]> =>
    (await env.call<{ servers: Status[] }>('tools.servers', {})).servers;
  const server = async (name: string): Promise<Status> => {
    const found = (await servers()).find((s) => s.name === name);
    assert.ok(found, name);
    return found;
  };
  const call = (tool: string, args: unknown, who?: Principal): Promise<Result> =>
    env.call<Result>('tools.call', { tool, arguments: args }, who);

  before(async () => {
    env = await openToolsEnv();
    http = await startHttpFixture();
    const [stdio, remote] = await Promise.all([
      env.call<Status>('tools.mcp.add', {
        name: 'local',
        transport: 'stdio',
        command: process.execPath,
        args: [fixture('stdio.ts')],
        timeoutMs: 5_000,
        restart: { baseDelayMs: 20 },
      }),
      env.call<Status>('tools.mcp.add', { name: 'remote', transport: 'http', url: http.url }),
    ]);
    assert.equal(stdio.health, 'ready', stdio.lastError);
    assert.equal(remote.health, 'ready', remote.lastError);
  });
  after(async () => {
    await env.close();
    await http.close();
  });

  void it('discovers tools, resources and prompts of both transports', async () => {
    const { tools } = await env.call<{ tools: { name: string; source: string; provider?: string }[] }>(
      'tools.list',
      {
        source: 'mcp',
      },
    );
    const names = tools.map((t) => t.name);
    for (const n of ['mcp.local.add', 'mcp.local.sleep', 'mcp.remote.add', 'mcp.remote.pid'])
      assert.ok(names.includes(n), n);
    const local = await server('local');
    assert.equal(local.tools, 6);
    assert.equal(local.resources, 1);
    assert.equal(local.prompts, 1);
    assert.equal(typeof local.pid, 'number');
  });

  void it('calls tools over stdio and Streamable HTTP', async () => {
    const a = await call('mcp.local.add', { a: 2, b: 3 });
    assert.deepEqual(a.structuredContent, { sum: 5 });
    const b = await call('mcp.remote.add', { a: 40, b: 2 });
    assert.deepEqual(b.structuredContent, { sum: 42 });
  });

  void it('refreshes the cached tool list on notifications/tools/list_changed', async () => {
    await assert.rejects(
      call('mcp.local.extra', {}),
      (e: unknown) => isStrataError(e) && e.code === 'E_NOT_FOUND',
    );
    await call('mcp.local.grow', {});
    await eventually(async () => (await server('local')).tools === 7);
    const extra = await call('mcp.local.extra', {});
    assert.equal(extra.content[0]?.text, '"extra"');
  });

  void it('validates arguments against the schema before any network call', async () => {
    const before = http.authorizations.length;
    assert.equal(await codeOf(call('mcp.remote.add', { a: 'two', b: 3 })), 'E_INVALID_INPUT');
    assert.equal(await codeOf(call('mcp.remote.add', { a: 1 })), 'E_INVALID_INPUT');
    assert.equal(http.authorizations.length, before, 'no request reached the server');
  });

  void it('a tool returning output that breaks its schema is E_TOOL_ERROR', async () => {
    assert.equal(await codeOf(call('mcp.local.bad_output', {})), 'E_TOOL_ERROR');
    assert.equal(await codeOf(call('mcp.remote.bad_output', {})), 'E_TOOL_ERROR');
  });

  void it('restarts a killed stdio server with backoff; calls work again', async () => {
    const first = await server('local');
    assert.ok(first.pid);
    process.kill(first.pid, 'SIGKILL');
    const back = await eventually(async () => {
      const s = await server('local');
      return s.health === 'ready' && s.pid !== first.pid ? s : undefined;
    });
    assert.ok(back.restarts >= 1);
    const pid = await call('mcp.local.pid', {});
    assert.equal(pid.content[0]?.text, String(back.pid));
    assert.deepEqual((await call('mcp.local.add', { a: 1, b: 1 })).structuredContent, { sum: 2 });
  });

  void it('a call that gets no answer times out and marks the server unhealthy; others are unaffected', async () => {
    await env.call('tools.mcp.add', {
      name: 'slow',
      transport: 'stdio',
      command: process.execPath,
      args: [fixture('stdio.ts')],
      timeoutMs: 300,
    });
    const started = Date.now();
    const [slow, other] = await Promise.allSettled([
      call('mcp.slow.sleep', { ms: 5_000 }),
      call('mcp.remote.add', { a: 1, b: 2 }),
    ]);
    assert.equal(slow.status, 'rejected');
    assert.ok(isStrataError(slow.reason) && slow.reason.code === 'E_SYSCALL_TIMEOUT', String(slow.reason));
    assert.ok(Date.now() - started < 3_000);
    assert.equal(other.status, 'fulfilled');
    const status = await server('slow');
    assert.equal(status.health, 'unhealthy');
    assert.match(status.lastError ?? '', /timed out/);
    assert.equal((await server('remote')).health, 'ready');
    // The next answered call makes it healthy again.
    await call('mcp.slow.add', { a: 1, b: 1 });
    assert.equal((await server('slow')).health, 'ready');
  });

  void it('a server that never answers initialize is unhealthy within its connect timeout; others keep working', async () => {
    const started = Date.now();
    const status = await env.call<Status>('tools.mcp.add', {
      name: 'mute',
      transport: 'stdio',
      command: process.execPath,
      args: [fixture('hang.ts')],
      connectTimeoutMs: 300,
      restart: { baseDelayMs: 60_000 },
    });
    assert.ok(Date.now() - started < 3_000);
    assert.equal(status.health, 'unhealthy');
    assert.match(status.lastError ?? '', /no answer within 300 ms/);
    assert.deepEqual((await call('mcp.local.add', { a: 2, b: 2 })).structuredContent, { sum: 4 });
    const { tools } = await env.call<{ tools: { name: string }[] }>('tools.list', {});
    assert.ok(tools.some((t) => t.name === 'mcp.remote.add'));
    assert.ok(!tools.some((t) => t.name.startsWith('mcp.mute.')));
  });

  void it('lists and calls only what the caller is granted', async () => {
    const remoteOnly = await env.principal([
      { syscall: 'tools.list', resource: '*' },
      { syscall: 'tools.call', resource: 'tools/mcp/remote/*' },
    ]);
    const { tools } = await env.call<{ tools: { name: string }[] }>('tools.list', {}, remoteOnly);
    assert.ok(tools.length > 0);
    assert.ok(
      tools.every((t) => t.name.startsWith('mcp.remote.')),
      JSON.stringify(tools.map((t) => t.name)),
    );
    assert.deepEqual((await call('mcp.remote.add', { a: 1, b: 1 }, remoteOnly)).structuredContent, {
      sum: 2,
    });
    assert.equal(await codeOf(call('mcp.local.add', { a: 1, b: 1 }, remoteOnly)), 'E_CAPABILITY_DENIED');

    const listOnly = await env.principal([{ syscall: 'tools.list', resource: '*' }]);
    assert.deepEqual((await env.call<{ tools: unknown[] }>('tools.list', {}, listOnly)).tools, []);
    assert.equal(await codeOf(call('mcp.remote.add', { a: 1, b: 1 }, listOnly)), 'E_CAPABILITY_DENIED');

    const nothing = await env.principal([{ syscall: 'kernel.echo', resource: '*' }]);
    assert.equal(await codeOf(env.call('tools.list', {}, nothing)), 'E_CAPABILITY_DENIED');
    assert.equal(
      await codeOf(env.call('tools.mcp.add', { name: 'x', transport: 'stdio', command: 'true' }, remoteOnly)),
      'E_CAPABILITY_DENIED',
    );
  });

  void it('sends the vault credential to an HTTP server; an unreachable one is E_UNAVAILABLE', async () => {
    const token = 'mcp-Bearer-Secret-77';
    const guarded = await startHttpFixture({ bearer: token });
    try {
      await env.call('tools.vault.put', { name: 'mcptoken', kind: 'bearer', secret: token });
      const status = await env.call<Status>('tools.mcp.add', {
        name: 'guarded',
        transport: 'http',
        url: guarded.url,
        connection: 'mcptoken',
        timeoutMs: 3_000, // also bounds how long a call waits for a reconnect
        restart: { baseDelayMs: 60_000 },
      });
      assert.equal(status.health, 'ready', status.lastError);
      assert.deepEqual((await call('mcp.guarded.add', { a: 3, b: 4 })).structuredContent, { sum: 7 });
      assert.ok(guarded.authorizations.every((a) => a === `Bearer ${token}`));
    } finally {
      await guarded.close();
    }
    assert.equal(await codeOf(call('mcp.guarded.add', { a: 3, b: 4 })), 'E_UNAVAILABLE');
    assert.equal((await server('guarded')).health, 'unhealthy');
    assert.deepEqual((await call('mcp.remote.add', { a: 1, b: 1 })).structuredContent, { sum: 2 });
    assert.ok(!env.logText().includes(token), 'the token is in no log line');
  });

  void it('removing a server stops its process', async () => {
    const { pid } = await server('slow');
    assert.ok(pid);
    await env.call('tools.mcp.remove', { name: 'slow' });
    assert.ok(!(await servers()).some((s) => s.name === 'slow'));
    await eventually(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});
