// `strata runs …` end to end: a real `strata up --workflows <fixture>` and the CLI talking to it over
// HTTP, as a user would: start, get, list, signal, logs --follow, cancel, retry, and every failure
// mapped to its exit code (the run's own error code for a failed run under --follow).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Run, TimelineEntry } from '../orchestration/index.ts';
import { jsonOf, runCli, startUp, type CliResult, type RunningServer } from './testing.ts';

const FIXTURE = 'src/cli/fixtures/workflows.ts';
const dataDir = mkdtempSync(join(tmpdir(), 'strata-runs-'));
let server: RunningServer;

before(async () => {
  server = await startUp(dataDir, ['--workflows', FIXTURE]);
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  rmSync(dataDir, { recursive: true, force: true });
});

/** `strata runs <args> --json` against the test server, unless `args` name another --url. */
const runs = (args: readonly string[]): Promise<CliResult> => {
  const url = args.includes('--url') ? [] : ['--url', server.started.url];
  return runCli(['--data-dir', dataDir, 'runs', ...args, ...url, '--json']);
};

async function ok<T = Run>(args: readonly string[]): Promise<T> {
  const result = await runs(args);
  assert.equal(result.code, 0, `runs ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return jsonOf<T>(result);
}

function failed(result: CliResult, exit: number, code: string): void {
  assert.equal(result.code, exit, result.stdout + result.stderr);
  assert.equal(jsonOf<{ error: { code: string } }>(result).error.code, code);
}

async function untilStatus(runId: string, status: string): Promise<Run> {
  for (let i = 0; i < 100; i++) {
    const run = await ok(['get', runId]);
    if (run.status === status) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} never reached ${status}`);
}

test('strata up --workflows registers the module’s workflows and skips other exports', () => {
  assert.deepEqual(server.started.workflows, ['approval@1', 'impatient@1']);
});

test('start, get, list, logs, then signal while logs --follow prints until completion', async () => {
  const run = await ok(['start', 'approval', '--input', '{"item":"book"}', '--priority', '-3']);
  assert.equal(run.workflow, 'approval');
  assert.equal(run.priority, -3);
  await untilStatus(run.id, 'waiting');
  const listed = await ok<{ runs: Run[] }>(['list', '--workflow', 'approval', '--status', 'waiting']);
  assert.ok(listed.runs.some((r) => r.id === run.id));
  const logs = await ok<{ entries: TimelineEntry[] }>(['logs', run.id]);
  assert.deepEqual(
    logs.entries.map((e) => [e.kind, e.name, e.status]),
    [
      ['step', 'draft', 'ok'],
      ['signal', 'approve', 'pending'],
    ],
  );

  const follow = runCli([
    '--data-dir',
    dataDir,
    'runs',
    'logs',
    run.id,
    '--follow',
    '--url',
    server.started.url,
  ]);
  await new Promise((r) => setTimeout(r, 700)); // let it print the waiting timeline first
  await ok(['signal', run.id, 'approve', '--payload', '{"by":"ada"}']);
  const followed = await follow;
  assert.equal(followed.code, 0, followed.stderr);
  assert.match(followed.stdout, /^\s+1\s+step\s+draft\s+ok/m);
  assert.match(followed.stdout, /^\s+3\s+step\s+submit\s+ok/m);
  assert.match(followed.stdout, /completed: "order for book, approved by ada"$/m);

  failed(await runs(['signal', run.id, 'approve']), 5, 'E_CONFLICT');
});

test('cancel and retry; --follow on a cancelled run exits with E_CANCELLED’s code', async () => {
  const run = await ok(['start', 'approval', '--input', '{"item":"pen"}']);
  await untilStatus(run.id, 'waiting');
  assert.equal((await ok(['cancel', run.id])).status, 'cancelled');
  failed(await runs(['logs', run.id, '--follow']), 5, 'E_CANCELLED');
  failed(await runs(['cancel', run.id]), 5, 'E_CONFLICT');
  assert.notEqual((await ok(['retry', run.id])).status, 'cancelled');
  await untilStatus(run.id, 'waiting');
  await ok(['signal', run.id, 'approve', '--payload', '{"by":"bob"}']);
  const done = await ok<{ run: Run }>(['logs', run.id, '--follow']);
  assert.equal(done.run.output, 'order for pen, approved by bob');
});

test('ls takes the filter flags; bulk cancel previews, refuses a stale --expect, then cancels', async () => {
  const since = Date.now();
  const a = await ok(['start', 'approval', '--input', '{"item":"a"}']);
  const b = await ok(['start', 'approval', '--input', '{"item":"b"}']);
  const filter = [
    '--workflow',
    'approval',
    '--created-after',
    String(since),
    '--status',
    'queued,running,waiting',
  ];
  const listed = await ok<{ runs: Run[] }>(['ls', ...filter, '--search', 'APPR']);
  assert.deepEqual(
    listed.runs.map((r) => r.id),
    [b.id, a.id],
  );
  const preview = await ok<{ count: number; confirm: string }>(['bulk', 'cancel', ...filter]);
  assert.equal(preview.count, 2);
  const flags = `--status "queued,running,waiting" --workflow "approval" --created-after "${since}"`;
  assert.equal(preview.confirm, `strata runs bulk cancel ${flags} --expect 2 --yes`);
  failed(await runs(['bulk', 'cancel', ...filter, '--expect', '3', '--yes']), 5, 'E_CONFLICT');
  const done = await ok<{ done: string[] }>(['bulk', 'cancel', ...filter, '--expect', '2', '--yes']);
  assert.deepEqual(done.done, [b.id, a.id]);
  assert.equal((await ok(['get', a.id])).status, 'cancelled');
});

test('logs --follow on a run that fails exits with the code of the run’s error', async () => {
  const run = await ok(['start', 'impatient', '--input', '{"waitMs":50}']);
  const result = await runs(['logs', run.id, '--follow']);
  failed(result, 7, 'E_WAIT_TIMEOUT');
  const { data } = jsonOf<{ error: { data: { runId: string; status: string } } }>(result).error;
  assert.deepEqual(data, { ...data, runId: run.id, status: 'failed' });
});

test('errors from the server, the network and the command line map to exit codes', async () => {
  failed(await runs(['get', 'run_unknown']), 3, 'E_NOT_FOUND');
  failed(await runs(['start', 'nope']), 3, 'E_UNKNOWN_WORKFLOW');
  failed(await runs(['start', 'approval', '--input', '{"item":1}']), 2, 'E_INVALID_INPUT');
  failed(await runs(['start', 'approval', '--input', '{oops']), 2, 'E_BAD_REQUEST');
  failed(await runs(['list', '--key', 'sk_not_a_key']), 4, 'E_UNAUTHENTICATED');
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  failed(await runs(['list', '--url', `http://127.0.0.1:${closed}`]), 8, 'E_UNAVAILABLE');
  // Without --url, STRATA_URL is used.
  const viaEnv = await runCli(['--data-dir', dataDir, 'runs', 'list', '--json'], {
    env: { STRATA_URL: server.started.url },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
});

test('strata up refuses a workflows module it cannot use, before opening anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-runs-bad-'));
  try {
    for (const module of ['src/cli/fixtures/missing.ts', 'src/cli/output.ts']) {
      const result = await runCli(['--data-dir', dir, 'up', '--port', '0', '--workflows', module, '--json']);
      failed(result, 2, 'E_CONFIG');
    }
    assert.ok(!existsSync(join(dir, 'strata.db')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
