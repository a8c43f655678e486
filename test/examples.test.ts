// The README's examples never rot: each one is a file under examples/ that the README shows verbatim
// and that this test runs the way the README says to, checking its exit code and its output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');

/**
 * Runs `source` as if saved to `./example.ts` at the repository root and started with
 * `node example.ts`: code read from stdin resolves `./src/…` against the working directory.
 */
function runAtRoot(source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
    const child = spawn(process.execPath, ['--input-type=module-typescript'], {
      cwd: fileURLToPath(ROOT),
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(source);
  });
}

test('durable-run: the README shows it verbatim, and it runs to the output the README states', async () => {
  const source = readFileSync(new URL('examples/durable-run.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/durable-run.ts verbatim in a ```ts block',
  );
  const result = await runAtRoot(source);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      'a book reserved, approved by ada, shipped',
      '1 step reserve ok',
      '2 sleep sleep ok',
      '3 signal approve ok',
      '4 step ship ok',
      '',
    ].join('\n'),
  );
  for (const line of result.stdout.trim().split('\n')) assert.ok(readme.includes(`\`${line}\``), line);
});

test('models: the README shows it verbatim; it falls back from a failing provider and prices the answer', async () => {
  const source = readFileSync(new URL('examples/models.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/models.ts verbatim',
  );
  const result = await runAtRoot(source);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.deepEqual(lines, [
    'Oslo: 4°C, light rain.',
    'primary/big E_MODEL_UNAVAILABLE, primary/big E_MODEL_UNAVAILABLE, backup/small ok',
    '1200 in, 400 out: 1200 micro-USD',
  ]);
  for (const line of lines) assert.ok(readme.includes(`\`${line}\``), line);
});

test('fleet: the README shows it verbatim; a supervised team pauses on its budget and an approved raise resumes it', async () => {
  const source = readFileSync(new URL('examples/fleet.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/fleet.ts verbatim in a ```ts block',
  );
  const result = await runAtRoot(source);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      'budget exhausted: the team is paused and one approval asks for a raise',
      'team completed',
      'spent 0.20 of 1.00 USD', // ten calls of 0.02, each billed once
      '',
    ].join('\n'),
  );
});
