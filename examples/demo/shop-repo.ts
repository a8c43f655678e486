/**
 * The web shop's git repository the agents patch: a tiny node project with real tests
 * (node:test, all files in one process), made with the git binary as a bare repository under
 * `<dataDir>/repos` (where the merge queue takes repositories from), its first commit tagged
 * `sprint-base`. Each agent's fix is a real patch against that commit: a module for its issue
 * (under `src/payments/` for a payments issue: those need a person's approval before they reach
 * the queue) and a unit test for it, which the worker runs in its sandbox before it submits
 * (patch-test.ts). From the seed, three fixes pass their own unit test but break the shop's
 * checkout: their module, once loaded, replaces the shared line price (`pricing.line`) to take the
 * cent off every order line, not only its order's; `test/checkout.test.js`, the shop's
 * integration test, loads every fix module and totals an order, so the queue's full run (main with
 * the change) fails and names them. Three fixes change the same line of `src/settings.js`: the
 * queue merges one and sends the other two to rework as conflicts, naming the file. Each fix is
 * kept as `<dataDir>/fixes/issue-<n>.patch`, where the worker that fixes the issue reads it: the
 * stand-in for the fix a model would write.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { draw } from './faults.ts';
import type { Issue } from './issues.ts';

const FILES: Record<string, string> = {
  'package.json':
    '{ "name": "shop", "private": true, "type": "module", "scripts": { "test": "node test/all.js" } }\n',
  // Every test file in one process (node --test starts one per file: slow once there are 50).
  'test/all.js': [
    "import { readdirSync } from 'node:fs';",
    "for (const file of readdirSync(new URL('.', import.meta.url)).sort())",
    "  if (file.endsWith('.test.js')) await import(`./${file}`);",
    '',
  ].join('\n'),
  'src/settings.js': "export const ROUNDING = 'half-up';\n",
  'src/money.js': [
    '// What one order line costs, in cents: shared by the whole shop.',
    'export const pricing = { line: (l) => l.cents * l.qty };',
    'export const total = (lines) => lines.reduce((sum, l) => sum + pricing.line(l), 0);',
    '',
  ].join('\n'),
  'test/money.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { total } from '../src/money.js';",
    "test('total in cents', () => assert.equal(total([{ cents: 199, qty: 2 }]), 398));",
    '',
  ].join('\n'),
  // The integration test: the shop as it runs, every fix module loaded, then an order totalled.
  'test/checkout.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { existsSync, readdirSync } from 'node:fs';",
    "import { total } from '../src/money.js';",
    "for (const dir of ['fixes', 'payments']) {",
    '  const url = new URL(`../src/${dir}/`, import.meta.url);',
    '  if (existsSync(url)) for (const file of readdirSync(url).sort()) await import(new URL(file, url).href);',
    '}',
    "test('checkout: an order totals its lines with every fix loaded', () =>",
    '  assert.equal(total([{ cents: 1999, qty: 3 }, { cents: 250, qty: 2 }]), 6497));',
    '',
  ].join('\n'),
};

/** The tag of the commit every fix is written against (what a worker clones). */
export const SPRINT_BASE = 'sprint-base';

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'shop',
      GIT_AUTHOR_EMAIL: 'shop@shop.test',
      GIT_COMMITTER_NAME: 'shop',
      GIT_COMMITTER_EMAIL: 'shop@shop.test',
    },
  });

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** What the seed makes of one issue's fix. */
export type PatchKind = 'clean' | 'breaks_tests' | 'conflicts';

/** The file a fix is kept in. */
const fixFile = (dataDir: string, issue: number): string => join(dataDir, 'fixes', `issue-${issue}.patch`);

/** The fix for an issue, as the worker writes it (see the module's comment). */
export const readFix = (dataDir: string, issue: number): string =>
  readFileSync(fixFile(dataDir, issue), 'utf8');

/**
 * Three fixes that break the checkout test and three that change the same line (1 merges, 2 conflict), from the
 * seed; never the escalated issue (`skip`), whose fix never reaches the queue.
 */
export function patchKinds(seed: number, issues: number, skip = -1): PatchKind[] {
  const order = [...Array(issues).keys()]
    .filter((i) => i !== skip)
    .sort((a, b) => draw(seed, `patch:${a}`) - draw(seed, `patch:${b}`));
  const kinds: PatchKind[] = Array.from({ length: issues }, () => 'clean');
  for (const a of order.slice(0, 3)) kinds[a] = 'breaks_tests';
  for (const a of order.slice(3, 6)) kinds[a] = 'conflicts';
  return kinds;
}

/** An issue's fix module; a `breaks_tests` one also replaces the shop's shared line price. */
function fixModule(issue: Issue, kind: PatchKind): string {
  const n = issue.number;
  if (kind !== 'breaks_tests') return `export const corrected${n} = ${issue.charged - 1};\n`;
  return [
    "import { pricing } from '../money.js';",
    `export const corrected${n} = ${issue.charged - 1};`,
    'pricing.line = (l) => l.cents * l.qty - 1;',
    '',
  ].join('\n');
}

/** An issue's fix: its module (under `src/payments/` for a payments issue) and its unit test. */
function fixFiles(issue: Issue, kind: PatchKind): Record<string, string> {
  const n = issue.number;
  const module = issue.area === 'payments' ? `src/payments/issue-${n}.js` : `src/fixes/issue-${n}.js`;
  return {
    [module]: fixModule(issue, kind),
    [`test/issue-${n}.test.js`]: [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      `import { corrected${n} } from '../${module}';`,
      `test('issue ${n}: charged one cent less', () => assert.equal(corrected${n}, ${issue.charged - 1}));`,
      '',
    ].join('\n'),
  };
}

/** A `git diff`'s sections by the path they change (each starts `diff --git a/<path> b/<path>`). */
function sectionsByPath(diff: string): Map<string, string> {
  const sections = diff.split(/^(?=diff --git )/m).filter((s) => s.startsWith('diff --git '));
  return new Map(sections.map((s) => [/^diff --git a\/(\S+) /.exec(s)?.[1] ?? '', s]));
}

/**
 * Creates `<dataDir>/repos/shop.git` with main, and writes each issue's fix against it. The fixes'
 * own files never overlap (they are named after their issue), so one `git diff` of all of them,
 * split by file, gives every patch; only the `conflicts` fixes' changes to `src/settings.js` (one
 * line, three ways) are diffed one by one. Four git processes per issue took 17 s for 50 issues on
 * 2 busy cores (load 20); this takes a handful of git processes whatever the count.
 */
export function createShopRepo(dataDir: string, issues: readonly Issue[], kinds: readonly PatchKind[]) {
  const bare = join(dataDir, 'repos', 'shop.git');
  const work = mkdtempSync(join(tmpdir(), 'strata-shop-'));
  try {
    git(work, 'init', '-q', '-b', 'main');
    write(work, FILES);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'shop: money and settings, with tests');
    git(work, 'tag', SPRINT_BASE);
    mkdirSync(dirname(bare), { recursive: true });
    git(work, 'clone', '-q', '--bare', work, bare);
    git(bare, 'bundle', 'create', '-q', bundleFile(dataDir), SPRINT_BASE);
    mkdirSync(join(dataDir, 'fixes'), { recursive: true });
    const own = issues.map((issue, index) => fixFiles(issue, kinds[index] ?? 'clean'));
    for (const files of own) write(work, files);
    git(work, 'add', '-A');
    const sections = sectionsByPath(git(work, 'diff', '--cached', '--binary'));
    for (const [index, issue] of issues.entries()) {
      const n = issue.number;
      const parts = Object.keys(own[index] ?? {}).map((path) => [path, sections.get(path) ?? ''] as const);
      if (kinds[index] === 'conflicts') {
        write(work, { 'src/settings.js': `export const ROUNDING = 'issue-${n}';\n` });
        parts.push(['src/settings.js', git(work, 'diff', '--binary', '--', 'src/settings.js')]);
      }
      // In git's order (by path), as one `git diff` of the fix would give them.
      parts.sort(([a], [b]) => (a < b ? -1 : 1));
      writeFileSync(fixFile(dataDir, n), parts.map(([, section]) => section).join(''));
    }
    return { repository: bare };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The shop at the sprint's base as a git bundle: how a worker's sandbox gets the repository. */
const bundleFile = (dataDir: string): string => join(dataDir, 'repos', 'shop.bundle');

/**
 * The bundle, base64, as a worker sends it into its sandbox (which mounts nothing of the host and
 * has no network). Made once with the repository; it never changes after.
 */
export const readShopBundle = (dataDir: string): string =>
  readFileSync(bundleFile(dataDir)).toString('base64');
