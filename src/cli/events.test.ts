// `strata events watch` against a real server: it replays from --since, then prints live events one
// line each (jsonl, or ISO-timestamped text when stdout is not a terminal), only of the topics asked
// for, and exits 0 on SIGINT; a bad --topics and a key without the grant exit with their codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema, EXIT } from '../kernel/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { cleanEnv, MAIN, REPO_ROOT, runCli } from './testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-events-cli-'));
let runtime: Runtime;
let server: ServerHandle;
let tenantId = '';
let key = '';
/** Bus handlers of the runtime before any stream: more means a watch is connected. */
let idle = 0;

before(async () => {
  runtime = await openRuntime({ config: configSchema.parse({ dataDir }) });
  tenantId = (await runtime.kernel.principals.createTenant('acme')).id;
  key = (
    await runtime.kernel.principals.createApiKey({
      tenantId,
      name: 'watcher',
      grants: [{ syscall: 'kernel.events.read', resource: '*' }],
    })
  ).key;
  idle = runtime.kernel.events.handlerCount;
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const publish = (topic: string, payload: unknown): Promise<number> =>
  runtime.kernel.events.publish(runtime.kernel.store, { topic, tenantId, payload });

/** Runs `events watch <args>` until `lines` lines are out, then SIGINT; returns them and the exit code. */
async function watch(
  args: string[],
  lines: number,
  /** Called once the watch is connected, with the number of lines it printed so far. */
  whenStarted: (printed: () => number) => Promise<void>,
): Promise<{ out: string[]; code: number | null }> {
  // The server lets go of an earlier watch's stream asynchronously.
  for (let i = 0; runtime.kernel.events.handlerCount > idle; i++) {
    assert.ok(i < 500, 'an earlier stream is still subscribed');
    await new Promise((r) => setTimeout(r, 20));
  }
  const child = spawn(
    process.execPath,
    [MAIN, '--data-dir', dataDir, 'events', 'watch', '--url', server.url, '--key', key, ...args],
    { cwd: REPO_ROOT, env: cleanEnv() },
  );
  let stdout = '';
  let stderr = '';
  let started = false;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.split('\n').length > lines) child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ out: stdout.trimEnd().split('\n'), code }));
    // The child has connected once the server holds its subscription.
    const poll = setInterval(() => {
      if (started || runtime.kernel.events.handlerCount <= idle) return;
      started = true;
      clearInterval(poll);
      whenStarted(() => stdout.split('\n').length - 1).catch(reject);
    }, 20);
    setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`watch timed out: ${stdout}${stderr}`));
    }, 20_000).unref();
  });
}

test('replays from --since, then prints live events of the asked topics as JSON lines', async () => {
  const first = await publish('run:step:failed', { run: 'r1' });
  await publish('mail:message:received', { skipped: true });
  const { out, code } = await watch(
    ['--topics', 'run:*', '--since', String(first - 1), '-o', 'jsonl'],
    2,
    async () => {
      await publish('mail:message:received', { skipped: true });
      await publish('run:step:completed', { run: 'r2' });
    },
  );
  assert.equal(code, 0, 'SIGINT ends the watch normally');
  const events = out.map((l) => JSON.parse(l) as { seq: number; topic: string; payload: unknown });
  assert.deepEqual(
    events.map((e) => [e.topic, e.payload]),
    [
      ['run:step:failed', { run: 'r1' }],
      ['run:step:completed', { run: 'r2' }],
    ],
  );
  assert.equal(events[0]?.seq, first);
});

test('prints ISO-timestamped text lines when stdout is not a terminal', async () => {
  const { out, code } = await watch(['--topics', 'run:text'], 1, async () => {
    await publish('run:text', { n: 1 });
  });
  assert.equal(code, 0);
  assert.match(out[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+\d+ {2}run:text {2}\{"n":1\}$/);
});

test('resumes after the server drops the connection: nothing lost, nothing twice', async () => {
  const { out, code } = await watch(['--topics', 'run:drop', '-o', 'jsonl'], 3, async (printed) => {
    await publish('run:drop', { n: 1 });
    for (let i = 0; printed() < 1; i++) {
      assert.ok(i < 1000, 'the first event was not printed');
      await new Promise((r) => setTimeout(r, 10));
    }
    server.server.closeAllConnections(); // a proxy restart, a network blip
    await publish('run:drop', { n: 2 }); // while the watch reconnects
    await publish('run:drop', { n: 3 });
  });
  assert.equal(code, 0);
  assert.deepEqual(
    out.map((l) => (JSON.parse(l) as { payload: unknown }).payload),
    [{ n: 1 }, { n: 2 }, { n: 3 }],
  );
});

test('a bad --topics and a key without the grant exit with their error codes', async () => {
  const watchWith = (apiKey: string, ...args: string[]) =>
    runCli(['--data-dir', dataDir, 'events', 'watch', '--url', server.url, '--key', apiKey, ...args]);
  const bad = await watchWith(key, '--topics', 'RUN:*');
  assert.equal(bad.code, EXIT.usage, bad.stderr);
  assert.match(bad.stderr, /E_INVALID_INPUT/);
  const other = await runtime.kernel.principals.createApiKey({
    tenantId,
    name: 'no-events',
    grants: [{ syscall: 'kernel.echo', resource: '*' }],
  });
  const denied = await watchWith(other.key, '--json');
  assert.equal(denied.code, EXIT.denied, denied.stdout);
  assert.equal((JSON.parse(denied.stdout) as { error: { code: string } }).error.code, 'E_CAPABILITY_DENIED');
});
