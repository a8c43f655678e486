/**
 * The real-socket tests: graceful shutdown lets an in-flight call finish and answers it, refuses
 * calls that start after `close()`, and leaves no server, socket or open store behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { configSchema, defineSyscall, isStrataError } from '../kernel/index.ts';
import { openRuntime, type Runtime } from './runtime.ts';
import { installSignalHandlers, startServer } from './server.ts';

const slow = defineSyscall({
  name: 'test.slow',
  description: 'Answers after 300 ms.',
  input: z.object({ tag: z.string() }).strict(),
  output: z.object({ tag: z.string() }),
  idempotency: 'pure',
  handler: async (input) => {
    await sleep(300);
    return { tag: input.tag };
  },
});

const dirs: string[] = [];
async function runtimeForTest(bodyLimitBytes?: number): Promise<{ runtime: Runtime; key: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-serve-'));
  dirs.push(dataDir);
  const runtime = await openRuntime({
    config: configSchema.parse({ dataDir, server: { drainTimeoutMs: 5_000, bodyLimitBytes } }),
  });
  runtime.kernel.register(slow);
  const tenant = await runtime.kernel.principals.createTenant('serve');
  const { key } = await runtime.kernel.principals.createApiKey({
    tenantId: tenant.id,
    name: 'test',
    grants: [{ syscall: '*', resource: '*' }],
  });
  return { runtime, key };
}

const countResources = (kind: string): number =>
  process.getActiveResourcesInfo().filter((r) => r === kind).length;

void describe('startServer (real sockets)', () => {
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  void it('drains gracefully: the in-flight call completes, later calls are refused', async (t) => {
    const serversBefore = countResources('TCPServerWrap');
    const { runtime, key } = await runtimeForTest();
    const handle = await startServer({ runtime, host: '127.0.0.1', port: 0 });
    t.after(() => handle.close()); // idempotent; also closes when an assertion fails first
    assert.match(handle.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const call = (tag: string) =>
      fetch(`${handle.url}/v1/syscalls/test.slow`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tag }),
      });
    assert.equal((await fetch(`${handle.url}/healthz`)).status, 200);

    const inFlight = call('first');
    while (runtime.kernel.inFlight === 0) await sleep(5);
    const closing = handle.close();

    const late = await call('late').then(
      (res) => res.status,
      (error: unknown) => (error instanceof TypeError ? 'refused' : error),
    );
    assert.ok(
      late === 503 || late === 'refused',
      `a call after close() must be refused, got ${String(late)}`,
    );

    const first = await inFlight;
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { output: { tag: 'first' } });
    await closing;

    assert.equal(handle.server.listening, false);
    assert.equal(runtime.kernel.inFlight, 0);
    await assert.rejects(
      runtime.kernel.call(
        'kernel.echo',
        { message: 'x' },
        { principal: await runtime.kernel.authenticate({ apiKey: key }) },
      ),
      (error) => isStrataError(error) && error.code === 'E_SHUTTING_DOWN',
    );
    assert.equal(countResources('TCPServerWrap'), serversBefore, 'the listening socket is closed');
  });

  void it('refuses an oversized chunked upload and closes its socket, so shutdown is immediate', async (t) => {
    const { runtime, key } = await runtimeForTest(1024);
    const handle = await startServer({ runtime, host: '127.0.0.1', port: 0 });
    t.after(() => handle.close()); // idempotent; also closes when an assertion fails first
    const chunk = new TextEncoder().encode('a'.repeat(4096));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 64) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${handle.url}/v1/syscalls/kernel.echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers.get('connection'), 'close');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_PAYLOAD_TOO_LARGE');
    const started = performance.now();
    await handle.close();
    assert.ok(performance.now() - started < 500, 'no half-read socket held the shutdown');
  });

  void it('reports a port in use as E_CONFIG naming server.port', async (t) => {
    const { runtime } = await runtimeForTest();
    const first = await startServer({ runtime, host: '127.0.0.1', port: 0 });
    t.after(() => first.close());
    const port = Number(new URL(first.url).port);
    await assert.rejects(startServer({ runtime, host: '127.0.0.1', port }), (error) => {
      return (
        isStrataError(error) && error.code === 'E_CONFIG' && /server\.port/.test(JSON.stringify(error.data))
      );
    });
  });

  void it('installSignalHandlers closes on the first signal, then exits 0, and can be removed', async () => {
    let closed = 0;
    const codes: number[] = [];
    const uninstall = installSignalHandlers(
      {
        close: () => {
          closed++;
          return Promise.resolve();
        },
      },
      { exit: (code) => codes.push(code) },
    );
    try {
      process.emit('SIGTERM', 'SIGTERM');
      await sleep(10);
      assert.equal(closed, 1);
      assert.deepEqual(codes, [0]);
      process.emit('SIGINT', 'SIGINT');
      assert.deepEqual(codes, [0, 130], 'a second signal exits at once with 128 + SIGINT');
    } finally {
      uninstall();
    }
    assert.equal(process.listenerCount('SIGTERM'), 0);
    assert.equal(process.listenerCount('SIGINT'), 0);
  });
});
