// `strata runs watch` against a real server (SQLite runtime), in process: `run:changed` events of
// the caller's tenant become one line each, filtered by status and workflow, in the order they were
// published; a real run started through the engine prints queued, running, completed; a connection
// the server drops is resumed from the last seq, with nothing lost or printed twice; text lines
// carry an ISO timestamp off a terminal. The command itself (registered under `runs`) refuses an
// unknown --status with exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { configSchema, EXIT } from '../kernel/index.ts';
import { defineWorkflow, eraseWorkflow } from '../orchestration/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import {
  runChangeLine,
  streamRunChanges,
  type RunChange,
  type RunWatchFilter,
} from './commands/runs-watch.ts';
import { remoteOf, type Remote } from './remote.ts';
import { runCli } from './testing.ts';

const task = defineWorkflow(
  { name: 'watch.task', version: 1, input: z.object({}), output: z.string() },
  (ctx) => ctx.step('work', () => Promise.resolve('done')),
);

const dataDir = mkdtempSync(join(tmpdir(), 'strata-runs-watch-'));
let runtime: Runtime;
let server: ServerHandle;
let tenantId = '';
let remote: Remote;
/** Bus handlers of the runtime before any stream: more means a watch is connected. */
let idle = 0;

before(async () => {
  runtime = await openRuntime({
    config: configSchema.parse({ dataDir }),
    workflows: [eraseWorkflow(task)],
    worker: true,
  });
  tenantId = (await runtime.kernel.principals.createTenant('acme')).id;
  const { key } = await runtime.kernel.principals.createApiKey({
    tenantId,
    name: 'watcher',
    grants: [{ syscall: 'kernel.events.read', resource: '*' }],
  });
  idle = runtime.kernel.events.handlerCount;
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
  remote = remoteOf({ url: server.url, key }, runtime.config);
});
after(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Published the way the engine does it: in a store transaction, with the status write. */
const changed = (payload: Omit<RunChange, 'seq' | 'ts'>, tenant = tenantId): Promise<number> =>
  runtime.kernel.store.transaction((tx) =>
    runtime.kernel.events.publish(tx, { topic: 'run:changed', tenantId: tenant, payload }),
  );

/** Streams changes through `filter` until `count` arrived; `during` runs once connected. */
async function collect(
  filter: RunWatchFilter,
  count: number,
  during: (received: () => number) => Promise<void>,
): Promise<(RunChange | { reset: number })[]> {
  // The server lets go of an earlier watch's stream asynchronously.
  for (let i = 0; runtime.kernel.events.handlerCount > idle; i++) {
    assert.ok(i < 500, 'an earlier stream is still subscribed');
    await new Promise((r) => setTimeout(r, 10));
  }
  const out: (RunChange | { reset: number })[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 10_000);
  const done = streamRunChanges(
    remote,
    filter,
    (change) => {
      out.push(change);
      if (out.length >= count) stop.abort();
    },
    stop.signal,
  );
  for (let i = 0; runtime.kernel.events.handlerCount <= idle; i++) {
    assert.ok(i < 500, 'the watch never connected');
    await new Promise((r) => setTimeout(r, 10));
  }
  await during(() => out.length);
  await done;
  clearTimeout(timer);
  return out;
}

test('one change per run:changed event of the tenant, filtered by status and workflow', async () => {
  const other = (await runtime.kernel.principals.createTenant('other')).id;
  const out = await collect({ statuses: new Set(['completed', 'failed']), workflow: 'ship' }, 2, async () => {
    await changed({ id: 'run_1', workflow: 'ship', status: 'running', attempt: 1 });
    await changed({ id: 'run_2', workflow: 'other', status: 'completed', attempt: 1 });
    await changed({ id: 'run_9', workflow: 'ship', status: 'completed', attempt: 1 }, other);
    await changed({
      id: 'run_1',
      workflow: 'ship',
      status: 'failed',
      attempt: 2,
      error: { code: 'E_TIMEOUT' },
    });
    await changed({
      id: 'run_3',
      workflow: 'ship',
      status: 'completed',
      attempt: 1,
      parentId: 'run_1',
      rootId: 'run_1',
    });
  });
  assert.deepEqual(
    out.map((c) => ('reset' in c ? 'reset' : [c.id, c.status])),
    [
      ['run_1', 'failed'],
      ['run_3', 'completed'],
    ],
  );
  const [failed, child] = out as RunChange[];
  assert.ok(failed && child);
  assert.ok(failed.seq < child.seq);
  assert.match(
    runChangeLine(failed, 'text', false),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}failed {5}run_1 {2}ship {2}attempt 2 {2}E_TIMEOUT$/,
  );
  assert.match(
    runChangeLine(child, 'text', true),
    /^\d\d:\d\d:\d\d\.\d{3} {2}completed {2}run_3 {2}ship {2}child of run_1$/,
  );
  assert.deepEqual(JSON.parse(runChangeLine(child, 'jsonl', false)), child);
});

test('a dropped connection resumes from the last seq: nothing lost, nothing twice', async () => {
  const out = await collect({}, 3, async (received) => {
    await changed({ id: 'run_a', workflow: 'w', status: 'queued', attempt: 1 });
    for (let i = 0; received() < 1; i++) {
      assert.ok(i < 1000, 'the first change never arrived');
      await new Promise((r) => setTimeout(r, 10));
    }
    server.server.closeAllConnections(); // a proxy restart, a network blip
    await changed({ id: 'run_a', workflow: 'w', status: 'running', attempt: 1 });
    await changed({ id: 'run_a', workflow: 'w', status: 'completed', attempt: 1 });
  });
  assert.deepEqual(
    out.map((c) => ('reset' in c ? 'reset' : c.status)),
    ['queued', 'running', 'completed'],
  );
});

test('a run started through the engine prints queued, running, completed', async () => {
  const principal = await runtime.kernel.authenticate({
    apiKey: (
      await runtime.kernel.principals.createApiKey({
        tenantId,
        name: 'starter',
        grants: [{ syscall: '*', resource: '*' }],
      })
    ).key,
  });
  let runId = '';
  const out = await collect({ workflow: task.name }, 3, async () => {
    runId = (await runtime.engine.start(task.name, {}, { principal })).id;
  });
  assert.deepEqual(
    out.map((c) => ('reset' in c ? 'reset' : [c.id, c.status])),
    [
      [runId, 'queued'],
      [runId, 'running'],
      [runId, 'completed'],
    ],
  );
});

test('strata runs watch is registered under runs and refuses an unknown status (exit 2)', async () => {
  const result = await runCli(['runs', 'watch', '--status', 'done', '--url', server.url, '--key', 'x']);
  assert.equal(result.code, EXIT.usage, result.stderr);
  assert.match(result.stderr, /not a run status: done/);
});
