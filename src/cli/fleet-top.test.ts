// `strata fleet top` against a real server with an in-process worker (SQLite runtime): on a
// terminal the table is redrawn in place, and a run change redraws it long before the interval; off
// a terminal each refresh is one ISO-timestamped line without escape codes; a key that may not read
// events still refreshes and says events are off. `--once` and `--json` print one snapshot and exit,
// with the fault injection banner while chaos is enabled (chaos.status, for a caller granted it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { configSchema, type Principal } from '../kernel/index.ts';
import { defineWorkflow, eraseWorkflow } from '../orchestration/index.ts';
import type { FleetSnapshot } from '../orchestration/fleet-snapshot/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { runFleetTop } from './commands/fleet-top.ts';
import { remoteOf } from './remote.ts';
import { jsonOf, runCli } from './testing.ts';

const task = defineWorkflow(
  { name: 'top.task', version: 1, input: z.object({}), output: z.string() },
  (ctx) => ctx.step('work', () => Promise.resolve('done')),
);
const parked = defineWorkflow(
  { name: 'top.parked', version: 1, input: z.object({}), output: z.string(), queue: 'nobody' },
  () => Promise.resolve('never'),
);

const dataDir = mkdtempSync(join(tmpdir(), 'strata-fleet-top-'));
let runtime: Runtime;
let server: ServerHandle;
let principal: Principal;
const keys = { full: '', noEvents: '' };

before(async () => {
  runtime = await openRuntime({
    config: configSchema.parse({ dataDir }),
    workflows: [task, parked].map(eraseWorkflow),
    worker: true,
  });
  const tenantId = (await runtime.kernel.principals.createTenant('acme')).id;
  const key = async (name: string, syscalls: string[]): Promise<string> =>
    (
      await runtime.kernel.principals.createApiKey({
        tenantId,
        name,
        grants: syscalls.map((syscall) => ({ syscall, resource: '*' })),
      })
    ).key;
  keys.full = await key('ops', ['fleet.snapshot', 'kernel.events.read', 'chaos.status', 'chaos.set']);
  keys.noEvents = await key('no-events', ['fleet.snapshot']);
  principal = await runtime.kernel.authenticate({ apiKey: keys.full });
  const done = await runtime.engine.start(task.name, {}, { principal });
  await runtime.engine.start(parked.name, {}, { principal });
  for (let i = 0; (await runtime.engine.get(tenantId, done.id)).status !== 'completed'; i++) {
    assert.ok(i < 500, 'the task never completed');
    await new Promise((r) => setTimeout(r, 20));
  }
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `fleet top` until `frames` writes (after `onFrame` saw each); returns them. */
async function top(
  o: { tty: boolean; intervalMs: number; key?: string },
  frames: number,
  onFrame: (index: number) => Promise<void> = () => Promise.resolve(),
): Promise<string[]> {
  const out: string[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 15_000);
  await runFleetTop(
    remoteOf({ url: server.url, key: o.key ?? keys.full }, runtime.config),
    o,
    (text) => {
      if (text.startsWith('\x1b[?25')) return; // hiding the cursor (and clearing), showing it again
      out.push(text);
      if (out.length >= frames) stop.abort();
      else void onFrame(out.length - 1);
    },
    stop.signal,
  );
  clearTimeout(timer);
  return out;
}

test('on a terminal: redrawn in place, and a run change redraws it before the interval', async () => {
  const started = Date.now();
  const frames = await top({ tty: true, intervalMs: 60_000 }, 2, async (index) => {
    if (index !== 0) return;
    await new Promise((r) => setTimeout(r, 500)); // the event stream is connected by now
    await runtime.engine.start(parked.name, {}, { principal }); // the engine publishes run:changed
  });
  assert.ok(Date.now() - started < 15_000);
  const [first = '', second = ''] = frames;
  assert.ok(first.startsWith('\x1b[H') && second.startsWith('\x1b[H'), 'each frame starts at the top left');
  assert.ok(first.endsWith('\x1b[J') && first.includes('\x1b[K\n'), 'old text is cleared');
  assert.match(first, /strata fleet top .* every 60s {2}events: on/);
  assert.match(first, /runs {6}queued 1 .*completed 1 /);
  assert.match(first, /last 60s {2}completed 1 \(0\.02\/s\)/);
  assert.match(first, /queues {4}1 queued/);
  assert.match(first, /top\.parked +1 +\d+s/);
  assert.match(first, new RegExp(`${runtime.worker?.id ?? 'no worker'} +yes`));
  assert.match(second, /queues {4}2 queued/);
});

test('off a terminal: one ISO-timestamped line per refresh; without the events grant it still refreshes', async () => {
  const lines = await top({ tty: false, intervalMs: 100, key: keys.noEvents }, 2);
  for (const line of lines) {
    assert.match(
      line,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}runs queued=\d+ running=\d+ .* workers=1 /,
    );
    assert.ok(!line.includes('\x1b'), 'no escape codes in a log');
  }
  const frames = await top({ tty: true, intervalMs: 100, key: keys.noEvents }, 3);
  assert.match(frames.at(-1) ?? '', /events: off \(E_CAPABILITY_DENIED\)/);
});

test('--once prints the table with the fault injection banner, --json the snapshot; both exit 0', async () => {
  await runtime.kernel.call('chaos.set', { enabled: true }, { principal });
  try {
    const cli = (...args: string[]) =>
      runCli(['fleet', 'top', '--url', server.url, '--key', keys.full, ...args]);
    const [once, json] = await Promise.all([cli('--once'), cli('--json')]);
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stdout, /^runs {6}queued \d+ /);
    assert.match(once.stdout, /^FAULT INJECTION IS ACTIVE/m);
    assert.ok(!once.stdout.includes('\x1b'));
    assert.equal(json.code, 0, json.stderr);
    const snapshot = jsonOf<FleetSnapshot>(json);
    assert.equal(snapshot.throughput.completed, 1);
    assert.equal(snapshot.workers.live, 1);
    assert.deepEqual(snapshot.chaos, { enabled: true });
    // A caller that may not read chaos.status gets no chaos field, not an error.
    const limited = await runtime.kernel.authenticate({ apiKey: keys.noEvents });
    const without = await runtime.kernel.call<FleetSnapshot>('fleet.snapshot', {}, { principal: limited });
    assert.equal(without.chaos, undefined);
  } finally {
    await runtime.kernel.call('chaos.set', { enabled: false }, { principal });
  }
});
