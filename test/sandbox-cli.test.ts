// `strata sandbox …` end to end: a real `strata up` and the CLI talking to it over HTTP: create,
// exec (exit code passed through), ls, cp both ways (file and directory), snapshot, restore, rm, bad
// input mapped to exit codes, and a persistent sandbox that survives a server restart.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jsonOf, runCli, startUp, type CliResult, type RunningServer } from '../src/cli/testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-sbx-cli-'));
const local = mkdtempSync(join(tmpdir(), 'strata-sbx-cli-local-'));
let server: RunningServer;

before(async () => {
  server = await startUp(dataDir);
});
after(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(local, { recursive: true, force: true });
});

const cli = (args: readonly string[], json = true): Promise<CliResult> =>
  runCli([
    '--data-dir',
    dataDir,
    'sandbox',
    '--url',
    server.started.url,
    ...(json ? ['--json'] : []),
    ...args,
  ]);

async function ok<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  const result = await cli(args);
  assert.equal(result.code, 0, `sandbox ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return jsonOf<T>(result);
}

test('create, exec, cp, snapshot, restore, ls, rm; the sandbox survives a server restart', async () => {
  const created = await ok<{ id: string; state: string }>([
    'create',
    '--persistent',
    '--name',
    'proj',
    '--runtime',
    'python3',
    '--memory',
    '256',
  ]);
  assert.match(created.id, /^sbx_/);

  // Exec: text output and the command's own exit code.
  const plain = await cli(
    ['exec', 'proj', '--', 'mkdir -p out/sub; echo deep > out/sub/f; echo hello; echo oops >&2; exit 7'],
    false,
  );
  assert.equal(plain.code, 7, plain.stderr);
  assert.equal(plain.stdout, 'hello\n');
  assert.equal(plain.stderr, 'oops\n');

  // cp a file up; snapshot; change it (argv exec with env); restore.
  writeFileSync(join(local, 'in.txt'), 'from the host');
  await ok(['cp', join(local, 'in.txt'), 'proj:in.txt']);
  const snap = await ok<{ id: string }>(['snapshot', 'proj']);
  assert.match(snap.id, /^[0-9a-f]{64}$/);
  const changed = await ok<{ stdout: string }>([
    'exec',
    'proj',
    '--env',
    'WHO=cli',
    '--',
    'python3',
    '-c',
    'import os; print(open("in.txt").read(), os.environ["WHO"]); open("in.txt", "w").write("changed")',
  ]);
  assert.equal(changed.stdout, 'from the host cli\n');
  await ok(['restore', 'proj', snap.id]);

  // Restart the server: the persistent sandbox is still there, restored, with its files.
  assert.equal(await server.stop(), 0);
  server = await startUp(dataDir);
  const listed = await ok<{ sandboxes: { id: string; name: string; state: string }[] }>(['ls']);
  assert.deepEqual(
    listed.sandboxes.map((s) => [s.id, s.name, s.state]),
    [[created.id, 'proj', 'paused']],
  );
  await ok(['cp', 'proj:in.txt', join(local, 'back.txt')]);
  assert.equal(readFileSync(join(local, 'back.txt'), 'utf8'), 'from the host');
  await ok(['cp', 'proj:out', join(local, 'fetched')]);
  assert.equal(readFileSync(join(local, 'fetched', 'out', 'sub', 'f'), 'utf8'), 'deep\n');

  await ok(['rm', 'proj']);
  assert.deepEqual((await ok<{ sandboxes: unknown[] }>(['ls'])).sandboxes, []);
});

test('bad input exits with the usage code and a stable error code', async () => {
  const badRuntime = await cli(['create', '--runtime', 'cobol']);
  assert.equal(badRuntime.code, 2);
  assert.equal(jsonOf<{ error: { code: string } }>(badRuntime).error.code, 'E_INVALID_INPUT');
  const box = await ok<{ id: string }>(['create']);
  const traversal = await cli(['cp', `${box.id}:../../etc/passwd`, join(local, 'passwd')]);
  assert.equal(traversal.code, 2);
  assert.equal(jsonOf<{ error: { code: string } }>(traversal).error.code, 'E_INVALID_INPUT');
});
