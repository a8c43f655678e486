/**
 * A merge queue on a remote repository: a real git smart-HTTP server (`git http-backend` behind
 * Basic auth on loopback) serves the repository; the queue keeps a mirror under its own allowed
 * root and reads the password from the vault. A branch pushed to the remote and a patch merge and
 * main is pushed back; wrong or missing credentials are E_REMOTE_AUTH with the secret in no
 * error; credentials in the URL are refused; a push whose lease is stale is refused and leaves
 * the remote untouched.
 *
 * SQLite only: the store plays no part in what is tested here (the transport), and the queue's
 * store behaviour on both engines is covered by mergequeue-store.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isStrataError, systemClock } from '../src/kernel/index.ts';
import { RemoteRepository } from '../src/mergequeue/index.ts';
import { freshDatabase } from '../src/testkit/stores.ts';
import { Vault } from '../src/tools/index.ts';
import { startGitHttpServer, type GitHttpServer } from './git-http-server.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';
import { openQueueHarness, type QueueHarness } from './mergequeue-harness.ts';

const SECRET = `pw-${randomBytes(8).toString('hex')}`;
const WRONG = `wrong-${randomBytes(8).toString('hex')}`;

let fx: Fixture;
let server: GitHttpServer;
let h: QueueHarness;
let vault: Vault;
let url: string;
const queueRoot = mkdtempSync(join(tmpdir(), 'strata-mq-mirrors-'));
const dropDb: (() => Promise<void>)[] = [];

before(async () => {
  fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo all good\n', 'shared.txt': 'one\n' });
  server = await startGitHttpServer(fx.allowedRoot, 'agent', SECRET);
  url = `${server.url}/app.git`;
  const db = await freshDatabase('sqlite');
  dropDb.push(() => db.drop());
  const store = await db.open();
  vault = await Vault.open({ store, masterKey: randomBytes(32), clock: systemClock });
  h = await openQueueHarness(store, {
    allowedRoots: [queueRoot],
    secrets: async (tenantId, name) => (await vault.reveal(tenantId, name, '')).value,
  });
  await vault.put(h.tenantId, { name: 'git-remote', kind: 'bearer', secrets: { token: SECRET } });
  await vault.put(h.tenantId, { name: 'git-wrong', kind: 'bearer', secrets: { token: WRONG } });
});
after(async () => {
  await h.close();
  await server.close();
  for (const drop of dropDb) await drop();
  fx.cleanup();
  rmSync(queueRoot, { recursive: true, force: true });
});

const configure = (queue: string, auth?: { credential: string; username?: string }, repository = url) =>
  h.call<{ mainCommit: string; auth: unknown }>('mq.configure', {
    queue,
    repository,
    target: 'main',
    check: { command: 'sh check.sh', runtimes: ['sh'] },
    ...(auth ? { auth } : {}),
  });

/** The error's code, and that neither secret appears anywhere in it. */
const refusedWith = (code: string) => (error: unknown) => {
  assert.ok(isStrataError(error), String(error));
  assert.equal(error.code, code, error.message);
  const text = JSON.stringify({ message: error.message, data: error.data, cause: String(error.cause) });
  for (const secret of [SECRET, WRONG]) assert.ok(!text.includes(secret), 'secret in the error');
  return true;
};

test('wrong, missing or inline credentials are refused with stable codes, no secret in the error', async () => {
  await assert.rejects(
    configure('bad', { credential: 'git-wrong', username: 'agent' }),
    refusedWith('E_REMOTE_AUTH'),
  );
  await assert.rejects(configure('anon'), refusedWith('E_REMOTE_AUTH'));
  assert.ok(server.refused >= 2);
  // Refused; the audit records the input with the URL's user-info masked, so a secret pasted into
  // the URL does not reach the audit chain either (checked with the others in the next test).
  const inline = url.replace('http://', `http://agent:${SECRET}@`);
  await assert.rejects(configure('inline', undefined, inline), refusedWith('E_INVALID_INPUT'));
  await assert.rejects(
    configure('ftp', undefined, 'ftp://example.com/app.git'),
    refusedWith('E_INVALID_INPUT'),
  );
});

test('a branch and a patch merge through the mirror; main is pushed to the remote', async () => {
  const queue = await configure('app', { credential: 'git-remote', username: 'agent' });
  assert.equal(queue.mainCommit, git(fx.bare, 'rev-parse', 'main'));
  assert.deepEqual(queue.auth, { credential: 'git-remote', username: 'agent' });
  assert.ok(
    existsSync(join(queueRoot, '.mq-mirrors', h.tenantId, 'app.git', 'HEAD')),
    'mirror under the root',
  );
  fx.branch('feat-remote', { 'remote.txt': 'from the remote\n' }); // an agent pushes to the remote
  await assert.rejects(h.call('mq.submit', { queue: 'app', branch: 'no-such' }), refusedWith('E_NOT_FOUND'));
  await h.call('mq.pause', { queue: 'app' }); // one batch, one check
  const branch = await h.call<{ id: string }>('mq.submit', { queue: 'app', branch: 'feat-remote' });
  const patch = ['--- a/shared.txt', '+++ b/shared.txt', '@@ -1 +1 @@', '-one', '+two', ''].join('\n');
  const patched = await h.call<{ id: string }>('mq.submit', { queue: 'app', patch });
  await h.call('mq.resume', { queue: 'app' });
  await h.queues.idle(h.tenantId, 'app');
  for (const id of [branch.id, patched.id]) {
    const shown = await h.call<{ entry: { state: string; reason: string } }>('mq.show', { queue: 'app', id });
    assert.equal(shown.entry.state, 'merged', shown.entry.reason);
  }
  assert.equal(git(fx.bare, 'show', 'main:remote.txt'), 'from the remote');
  assert.equal(git(fx.bare, 'show', 'main:shared.txt'), 'two');
  // The secret reached git through its environment only: no file of the mirror holds it.
  const mirror = join(queueRoot, '.mq-mirrors', h.tenantId, 'app.git');
  assert.equal(spawnSync('grep', ['-rqF', SECRET, mirror]).status, 1);
  const audit = JSON.stringify(await h.kernel.audit.list(h.tenantId, { limit: 1000 }));
  assert.match(audit, /git-remote/, 'the audit names the connection');
  for (const secret of [SECRET, WRONG]) assert.ok(!audit.includes(secret), 'secret in the audit');
});

test('a push whose lease is stale is refused and the remote keeps its main', async () => {
  const mirror = join(queueRoot, '.mq-mirrors', h.tenantId, 'app.git');
  const repo = new RemoteRepository(mirror, url, () =>
    Promise.resolve({ username: 'agent', secret: SECRET }),
  );
  const main = await repo.branchCommit('main');
  const next = git(mirror, 'commit-tree', `${main}^{tree}`, '-p', main, '-m', 'next');
  const stale = git(mirror, 'rev-parse', `${main}~1`);
  assert.equal(await repo.compareAndSwap('main', next, stale), false);
  assert.equal(git(fx.bare, 'rev-parse', 'main'), main);
  assert.equal(await repo.compareAndSwap('main', next, main), true);
  assert.equal(git(fx.bare, 'rev-parse', 'main'), next);
});
