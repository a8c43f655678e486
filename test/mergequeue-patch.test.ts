/**
 * Patches as changes, through `mq.submit` on a real bare repository with checks in bubblewrap
 * sandboxes, on SQLite and PostgreSQL: a plain diff and a `git format-patch` mail become commits
 * on main (kept under refs/mq/patches/<entry>, the mail's author kept) and merge like branches;
 * the same patch again is a duplicate; a patch that does not apply is E_PATCH_REJECTED naming the
 * file; not a diff, both or neither of branch/patch, or an oversized patch are refused.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { isStrataError } from '../src/kernel/index.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';
import { openQueueHarness, type QueueHarness } from './mergequeue-harness.ts';

type Entry = { id: string; state: string; branch: string; headCommit: string; duplicate: boolean };

const newFile = (name: string, line: string): string =>
  [
    `diff --git a/${name} b/${name}`,
    'new file mode 100644',
    '--- /dev/null',
    `+++ b/${name}`,
    '@@ -0,0 +1 @@',
    `+${line}`,
    '',
  ].join('\n');

const edit = (name: string, from: string, to: string): string =>
  [`--- a/${name}`, `+++ b/${name}`, '@@ -1 +1 @@', `-${from}`, `+${to}`, ''].join('\n');

onEveryStore('merge queue patches', (db) => {
  let fx: Fixture;
  let h: QueueHarness;
  const call = <T>(name: string, input: unknown): Promise<T> => h.call<T>(name, input);

  before(async () => {
    fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo all good\n', 'shared.txt': 'one\n' });
    h = await openQueueHarness(await db().open(), { allowedRoots: [fx.allowedRoot] });
    await call('mq.configure', {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'sh check.sh', runtimes: ['sh'] },
      batch: { min: 1, max: 4 },
    });
  });
  after(async () => {
    await h.close();
    fx.cleanup();
  });

  /** A `git format-patch` mail by "Patch Author", made in a throwaway clone. */
  const formatPatch = (): string => {
    const work = join(fx.root, 'mail-work');
    git(fx.root, 'clone', '-q', fx.bare, work);
    writeFileSync(join(work, 'mailed.txt'), 'from a mail\n');
    git(work, 'add', 'mailed.txt');
    git(work, 'commit', '-q', '-m', 'Add mailed.txt', '--author=Patch Author <pa@example.invalid>');
    return git(work, 'format-patch', '-1', '--stdout') + '\n';
  };

  it('refuses both, neither, oversized, not-a-diff and a patch that does not apply', async () => {
    const patch = newFile('x.txt', 'x');
    await assert.rejects(
      call('mq.submit', { queue: 'app', branch: 'main', patch }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(call('mq.submit', { queue: 'app' }), withCode('E_INVALID_INPUT'));
    await assert.rejects(
      call('mq.submit', { queue: 'app', patch: 'x'.repeat(1024 * 1024 + 1) }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(call('mq.submit', { queue: 'app', patch: 'hello\n' }), withCode('E_PATCH_REJECTED'));
    await assert.rejects(
      call('mq.submit', { queue: 'app', patch: edit('shared.txt', 'zzz', 'two') }),
      (error) => {
        assert.ok(isStrataError(error));
        assert.equal(error.code, 'E_PATCH_REJECTED');
        assert.deepEqual((error.data as { files: string[] }).files, ['shared.txt']);
        assert.match(error.message, /shared\.txt/);
        return true;
      },
    );
    assert.deepEqual((await call<{ entries: unknown[] }>('mq.list', { queue: 'app' })).entries, []);
  });

  it('a diff and a format-patch mail merge like branches; the same patch again is a duplicate', async () => {
    const before = fx.mainLog();
    const diff = newFile('new.txt', 'hello') + edit('shared.txt', 'one', 'two');
    await call('mq.pause', { queue: 'app' }); // both in one batch: one check
    const plain = await call<Entry>('mq.submit', { queue: 'app', patch: diff, author: 'agent-p' });
    const again = await call<Entry>('mq.submit', { queue: 'app', patch: diff });
    assert.deepEqual([again.id, again.duplicate], [plain.id, true]);
    assert.match(plain.branch, /^patch:[0-9a-f]{16}$/);
    const mailed = await call<Entry>('mq.submit', { queue: 'app', patch: formatPatch(), author: 'agent-m' });
    assert.equal(git(fx.bare, 'rev-parse', `refs/mq/patches/${plain.id}`), plain.headCommit);
    assert.equal(
      git(fx.bare, 'log', '-1', '--format=%an|%s', mailed.headCommit),
      'Patch Author|Add mailed.txt',
    );
    assert.equal(
      git(fx.bare, 'log', '-1', '--format=%an|%cn', plain.headCommit),
      'agent-p|Strata merge queue',
    );
    await call('mq.resume', { queue: 'app' });
    await h.queues.idle(h.tenantId, 'app');
    for (const e of [plain, mailed]) {
      assert.equal(
        (await call<{ entry: Entry }>('mq.show', { queue: 'app', id: e.id })).entry.state,
        'merged',
      );
    }
    assert.equal(git(fx.bare, 'show', 'main:new.txt'), 'hello');
    assert.equal(git(fx.bare, 'show', 'main:shared.txt'), 'two');
    assert.equal(git(fx.bare, 'show', 'main:mailed.txt'), 'from a mail');
    assert.equal(fx.mainLog().length, before.length + 1, 'one tested commit for the batch');
    // Merged: submitting it once more names the merged entry rather than queueing it again.
    assert.equal((await call<Entry>('mq.submit', { queue: 'app', patch: diff })).id, plain.id);
  });
});
