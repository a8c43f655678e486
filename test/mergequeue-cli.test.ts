// `strata mq` end to end against a real `strata up`: configure a queue on a bare repository under
// <dataDir>/repos, submit two branches (one breaks the check), watch them finish with `mq ls`, read
// why one was rejected with `mq show` (its failing log), and `mq stats`; a branch that does not
// exist fails with exit code 3 (E_NOT_FOUND) and a repository outside the allowed roots with 4.
// Then main is moved outside the queue: `mq ls` says the queue stopped and why, it stays stopped
// for later submits, and `mq resume` (after main is moved back) merges what waited, a patch
// submitted with `--patch <file>` among them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startUp, type CliResult, type RunningServer } from '../src/cli/testing.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';

let fx: Fixture;
let server: RunningServer;

before(async () => {
  fx = createFixture({ 'check.sh': 'test ! -f BROKEN || { echo "BROKEN is present"; exit 1; }\n' });
  server = await startUp(fx.root); // the fixture's repos/ is <dataDir>/repos, the allowed root
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  fx.cleanup();
});

const cli = (args: readonly string[], json = true): Promise<CliResult> =>
  runCli(['--data-dir', fx.root, 'mq', ...args, '--url', server.started.url, ...(json ? ['--json'] : [])]);

const json = async <T>(args: readonly string[]): Promise<T> => {
  const result = await cli(args);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return JSON.parse(result.stdout) as T;
};

test(
  'strata mq: configure, submit, watch them merge, see why one was rejected',
  { timeout: 120_000 },
  async () => {
    await json(['configure', 'app', '--repo', fx.bare, '--check', 'sh check.sh', '--runtime', 'sh']);
    assert.equal((await cli(['configure', 'x', '--repo', tmpdir(), '--check', 'true'])).code, 4);
    fx.branch('good', { 'a.txt': 'a\n' });
    fx.branch('bad', { BROKEN: '1\n' });
    const good = await json<{ id: string }>(['submit', 'app', 'good', '--author', 'agent-1']);
    const bad = await json<{ id: string }>(['submit', 'app', 'bad', '--author', 'agent-2']);
    assert.equal((await cli(['submit', 'app', 'no-such-branch'])).code, 3);
    let entries: { id: string; state: string }[] = [];
    for (let i = 0; i < 200; i++) {
      entries = (await json<{ entries: { id: string; state: string }[] }>(['ls', 'app'])).entries;
      if (entries.every((e) => e.state !== 'queued' && e.state !== 'testing')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(
      entries.map((e) => [e.id, e.state]),
      [
        [good.id, 'merged'],
        [bad.id, 'rejected'],
      ],
    );
    const shown = await cli(['show', 'app', bad.id], false);
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, /state: rejected \(culprit/);
    assert.match(shown.stdout, /--- failing log ---\nBROKEN is present/);
    const stats = await json<{ counts: Record<string, number>; checksPerMerge: number }>(['stats', 'app']);
    assert.deepEqual(stats.counts, { merged: 1, rejected: 1 });
    const table = await cli(['ls', 'app'], false);
    assert.match(table.stdout, /good +agent-1 +merged/);

    const main = git(fx.bare, 'rev-parse', 'main');
    git(
      fx.bare,
      'update-ref',
      'refs/heads/main',
      git(fx.bare, 'commit-tree', `${main}^{tree}`, '-m', 'outside'),
    );
    fx.branch('late', { 'b.txt': 'b\n' }, 'good');
    const late = await json<{ id: string }>(['submit', 'app', 'late']);
    type Listed = { entries: { id: string; state: string }[]; stopped: { code: string } | null };
    let listed: Listed = { entries: [], stopped: null };
    for (let i = 0; i < 200 && listed.stopped === null; i++) {
      await new Promise((r) => setTimeout(r, 250));
      listed = await json<Listed>(['ls', 'app']);
    }
    assert.equal(listed.stopped?.code, 'E_NOT_FAST_FORWARD');
    assert.match((await cli(['ls', 'app'], false)).stdout, /^queue stopped .*\(E_NOT_FAST_FORWARD\)/);
    fx.branch('later', { 'c.txt': 'c\n' }, 'good');
    const later = await json<{ id: string; state: string; reason: string }>(['submit', 'app', 'later']);
    assert.equal(later.state, 'queued');
    const diff = join(fx.root, 'd.diff');
    writeFileSync(diff, '--- /dev/null\n+++ b/d.txt\n@@ -0,0 +1 @@\n+d\n');
    assert.equal((await cli(['submit', 'app', 'later', '--patch', diff])).code, 2); // not both
    const patched = await json<{ id: string; branch: string }>(['submit', 'app', '--patch', diff]);
    assert.match(patched.branch, /^patch:/);
    git(fx.bare, 'update-ref', 'refs/heads/main', main);
    await json(['resume', 'app']);
    for (let i = 0; i < 200; i++) {
      listed = await json<Listed>(['ls', 'app']);
      if (listed.entries.every((e) => e.state !== 'queued' && e.state !== 'testing')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(listed.stopped, null);
    const state = new Map(listed.entries.map((e) => [e.id, e.state]));
    assert.deepEqual(
      [state.get(late.id), state.get(later.id), state.get(patched.id)],
      ['merged', 'merged', 'merged'],
    );
    assert.equal(git(fx.bare, 'show', 'main:d.txt'), 'd');
  },
);
