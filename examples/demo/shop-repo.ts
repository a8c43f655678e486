/**
 * The web shop's git repository the agents patch: a tiny node project with real tests
 * (node:test, all files in one process), made with the git binary as a bare repository under `<dataDir>/repos` (where
 * the merge queue takes repositories from). Each agent's fix is a real patch against main: a
 * module for its issue and a test for it. From the seed, three fixes break their own test, and
 * three agents change the same line of `src/settings.js`: the queue merges one and sends the other
 * two to rework as conflicts, naming the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  'src/money.js': 'export const total = (lines) => lines.reduce((sum, l) => sum + l.cents * l.qty, 0);\n',
  'test/money.test.js': [
    "import { test } from 'node:test';",
    "import assert from 'node:assert/strict';",
    "import { total } from '../src/money.js';",
    "test('total in cents', () => assert.equal(total([{ cents: 199, qty: 2 }]), 398));",
    '',
  ].join('\n'),
};

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

/** What the seed makes of one agent's fix. */
export type PatchKind = 'clean' | 'breaks_tests' | 'conflicts';

/** Three fixes whose test fails and three that change the same line (1 merges, 2 conflict), from the seed. */
export function patchKinds(seed: number, agents: number): PatchKind[] {
  const order = [...Array(agents).keys()].sort((a, b) => draw(seed, `patch:${a}`) - draw(seed, `patch:${b}`));
  const kinds: PatchKind[] = Array.from({ length: agents }, () => 'clean');
  for (const a of order.slice(0, 3)) kinds[a] = 'breaks_tests';
  for (const a of order.slice(3, 6)) kinds[a] = 'conflicts';
  return kinds;
}

/** Creates `<dataDir>/repos/shop.git` with main, and returns each agent's patch against it. */
export function createShopRepo(dataDir: string, issues: readonly Issue[], kinds: readonly PatchKind[]) {
  const bare = join(dataDir, 'repos', 'shop.git');
  const work = mkdtempSync(join(tmpdir(), 'strata-shop-'));
  try {
    git(work, 'init', '-q', '-b', 'main');
    write(work, FILES);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'shop: money and settings, with tests');
    mkdirSync(dirname(bare), { recursive: true });
    git(work, 'clone', '-q', '--bare', work, bare);
    const patches = issues.map((issue, agent) => {
      const kind = kinds[agent] ?? 'clean';
      const n = issue.number;
      const expected = kind === 'breaks_tests' ? issue.charged : issue.charged - 1; // the wrong total fails
      write(work, {
        [`src/fixes/issue-${n}.js`]: `export const corrected${n} = ${issue.charged - 1};\n`,
        [`test/issue-${n}.test.js`]: [
          "import { test } from 'node:test';",
          "import assert from 'node:assert/strict';",
          `import { corrected${n} } from '../src/fixes/issue-${n}.js';`,
          `test('issue ${n}: charged one cent less', () => assert.equal(corrected${n}, ${expected}));`,
          '',
        ].join('\n'),
        ...(kind === 'conflicts' ? { 'src/settings.js': `export const ROUNDING = 'issue-${n}';\n` } : {}),
      });
      git(work, 'add', '-A');
      const patch = git(work, 'diff', '--cached', '--binary');
      git(work, 'reset', '-q', '--hard', 'HEAD');
      git(work, 'clean', '-q', '-fd');
      return patch;
    });
    return { repository: bare, patches };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
