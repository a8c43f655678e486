// `npm test`: type-check, lint, then every test file under node:test, ending with the line
// `N passed, N failed`. Flags: --fast skips type-check and lint; any other argument is a file,
// directory or glob to run instead of the whole suite (e.g. `npm test -- --fast src/kernel/store`).
//
// Files run two at a time, the slowest first (durations from scripts/test-durations.json, files
// not in it first of all, as if slow): `node --test` sorts its files by name, which left a few
// minute-long files for the end with one of the two slots idle. `STRATA_TEST_DURATIONS=FILE`
// writes this run's durations to FILE (see summary-reporter.ts), to refresh the committed ones.
import { spawnSync } from 'node:child_process';
import { existsSync, globSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import summary from './summary-reporter.ts';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const fast = args.includes('--fast');
const filters = args.filter((a) => !a.startsWith('--'));

function step(label: string, cmd: string, cmdArgs: string[]): void {
  process.stdout.write(`\n▶ ${label}\n`);
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stdout.write(`\n${label} failed\n0 passed, 1 failed\n`);
    process.exit(result.status ?? 1);
  }
}

if (!fast) {
  step('type-check (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  step('build (tsc -p tsconfig.build.json)', 'npx', ['tsc', '-p', 'tsconfig.build.json']);
  step('built entry loads (dist/index.js)', process.execPath, [
    '-e',
    "await import('./dist/index.js')",
    '--input-type=module',
  ]);
  step('lint (eslint)', 'npx', ['eslint', '--max-warnings=0', '.']);
  step('format (prettier --check)', 'npx', ['prettier', '--check', '--log-level=warn', '.']);
}

/** Test files under a directory, as paths relative to the repository. */
function testFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
    .map((f) => relative(root, join(dir, f)));
}

function testFiles(): string[] {
  if (filters.length === 0) return ['src', 'test'].flatMap((d) => testFilesUnder(join(root, d)));
  return filters.flatMap((f) => {
    if (!existsSync(f)) return globSync(f).map((g) => relative(root, resolve(g)));
    return statSync(f).isDirectory() ? testFilesUnder(resolve(f)) : [relative(root, resolve(f))];
  });
}

/** Slowest first; a file with no recorded duration counts as slower than any. */
function slowestFirst(files: string[]): string[] {
  const durations = JSON.parse(readFileSync(join(root, 'scripts/test-durations.json'), 'utf8')) as Record<
    string,
    number
  >;
  const seconds = (f: string) => durations[f] ?? Infinity;
  return [...new Set(files)].sort((a, b) => seconds(b) - seconds(a) || a.localeCompare(b));
}

const files = slowestFirst(testFiles());
if (files.length === 0) {
  process.stdout.write(`\nno test files match ${filters.join(' ')}\n0 passed, 1 failed\n`);
  process.exit(1);
}

process.stdout.write('\n▶ tests (node:test)\n');
// V8's compile cache (keyed by file content, so never stale) shared by every process the suite
// starts: test files, workers and each CLI spawn load the same modules; it cuts a CLI start's CPU
// by about a third. The test files' processes inherit this environment.
process.env['NODE_COMPILE_CACHE'] ??= join(tmpdir(), 'strata-node-compile-cache');
process.env['STRATA_TEST'] = '1';
const TEST_TIMEOUT_MS = 300_000;
/** No test event for this long: the files still running hold their event loop after their tests.
 *  (STRATA_TEST_STUCK_MS sets it, to check this path without waiting five minutes.) */
const STUCK_AFTER_MS = Number(process.env['STRATA_TEST_STUCK_MS'] ?? TEST_TIMEOUT_MS + 30_000);

/**
 * A test that fails before closing its harness (workers, pools, servers) can leave its file's
 * process running after its last test, and the suite with it, until CI's own limit. Every test
 * times out after TEST_TIMEOUT_MS, so a longer silence means that: say which files are still
 * running, print the closing line with one more failure, and exit 1.
 */
function stopWhenStuck(events: ReturnType<typeof run>): void {
  const counts = { passed: 0, failed: 0 };
  const running = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const quiet = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = [...running].map((f) => relative(root, f)).join(', ') || 'none known';
      process.stdout.write(
        `\nno test event for ${STUCK_AFTER_MS / 1000} s; still running: ${files}\n` +
          `${counts.passed} passed, ${counts.failed + 1} failed\n`,
      );
      process.exit(1);
    }, STUCK_AFTER_MS);
    timer.unref();
  };
  events.on('test:dequeue', (data: { file?: string }) => {
    if (data.file) running.add(data.file);
    quiet();
  });
  events.on('test:summary', (data: { file?: string }) => {
    if (data.file) running.delete(data.file);
    quiet();
  });
  for (const outcome of ['test:pass', 'test:fail'] as const)
    events.on(outcome, (data: { details: { type?: string } }) => {
      if (data.details.type !== 'suite') counts[outcome === 'test:pass' ? 'passed' : 'failed']++;
      quiet();
    });
  quiet();
}

const stream = run({
  files: files.map((f) => join(root, f)),
  concurrency: 2,
  timeout: TEST_TIMEOUT_MS,
  // Not forceExit: it ends a file's process as soon as its tests are done, before all of its
  // results have reached this one. Measured: 44-63 of 63 results counted over 6 runs of two small
  // files, and a CI run missing 7 tests, all silently; a lost failure would have passed CI.
  cwd: root,
});
stream.on('test:fail', () => (process.exitCode = 1));
stopWhenStuck(stream);
stream.pipe(new spec()).pipe(process.stdout);
stream.pipe(Duplex.from(summary)).pipe(process.stdout);
