// `npm test`: type-check, lint, then every test file under node:test, ending with the line
// `N passed, N failed`. Flags: --fast skips type-check and lint; any other argument is a file or
// glob to run instead of the whole suite (e.g. `npm test -- --fast src/kernel/store`).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

const patterns = filters.length
  ? filters.map((f) =>
      existsSync(f) && statSync(f).isDirectory() ? `${f.replace(/\/$/, '')}/**/*.test.ts` : f,
    )
  : ['src/**/*.test.ts', 'test/**/*.test.ts'];

process.stdout.write('\n▶ tests (node --test)\n');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.ts',
    '--test-reporter-destination=stdout',
    ...patterns,
  ],
  {
    stdio: 'inherit',
    // V8's compile cache (keyed by file content, so never stale) shared by every process the suite
    // starts: test files, workers and each CLI spawn load the same modules; it cuts a CLI start's CPU
    // by about a third.
    env: {
      NODE_COMPILE_CACHE: join(tmpdir(), 'strata-node-compile-cache'),
      ...process.env,
      STRATA_TEST: '1',
    },
  },
);
process.exit(result.status ?? 1);
