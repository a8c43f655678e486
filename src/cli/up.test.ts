// `strata up` end to end: start on a free port, read the URL from the --json line, probe /healthz,
// then SIGTERM and expect a graceful exit 0. Also checks that a second start reuses the tenant.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanEnv, MAIN, REPO_ROOT, runCli } from './testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-up-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

interface Started {
  url: string;
  tenantId: string;
  adminKeyFile: string | null;
}

/** Starts `strata up --json`, resolves with its first stdout line, and lets the caller stop it. */
async function startUp(): Promise<{ started: Started; stop(): Promise<number | null>; stderr(): string }> {
  const args = [MAIN, '--data-dir', dataDir, 'up', '--port', '0', '--json'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: cleanEnv({ STRATA_LOG_LEVEL: 'warn' }),
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    void exited.then(([code]) => reject(new Error(`strata up exited ${code} before starting:\n${stderr}`)));
  });
  return {
    started: JSON.parse(line) as Started,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      return (await exited)[0];
    },
  };
}

test('strata up serves /healthz and exits 0 on SIGTERM', async () => {
  const first = await startUp();
  try {
    assert.match(first.started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(first.started.tenantId, /^ten_/);
    assert.equal(first.started.adminKeyFile, join(dataDir, 'admin.key'));
    assert.equal(statSync(join(dataDir, 'admin.key')).mode & 0o777, 0o600);
    const health = await fetch(`${first.started.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    assert.equal(await first.stop(), 0, first.stderr());
  }

  // The admin key written by `up` is the CLI's default credential on this machine.
  const called = await runCli(['--data-dir', dataDir, 'syscalls', 'call', 'kernel.whoami', '--json']);
  assert.equal(called.code, 0, called.stderr);
  assert.equal((JSON.parse(called.stdout) as { tenantId: string }).tenantId, first.started.tenantId);

  // A restart finds the tenant and does not mint another admin key.
  const second = await startUp();
  assert.equal(second.started.tenantId, first.started.tenantId);
  assert.ok(existsSync(join(dataDir, 'admin.key')));
  assert.equal(await second.stop(), 0, second.stderr());
});
