/**
 * The merge queue's syscalls over a real git repository, with checks in bubblewrap sandboxes, on
 * SQLite and PostgreSQL: configure, submit (idempotent), a culprit rejected with its failing log,
 * a conflict sent to rework with its files, a hanging check timed out without wedging the queue,
 * capability scoping per queue, bad input refused with stable codes, and fencing: a second worker
 * takes the queue and the first one's stale advance is refused, main untouched by it, while reading
 * stats in another process takes nothing (no worker opened, the fencing token untouched); a target
 * rewritten outside the queue is never fast-forwarded over (E_NOT_FAST_FORWARD), nothing recorded.
 * Check time is billed through the billing layer's meters to each change's author.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openSandboxes, type SandboxManager } from '../src/compute/index.ts';
import { Kernel, silentLogger, type Grant, type Principal } from '../src/kernel/index.ts';
import {
  CHECK_SECONDS_METER,
  CheckMetering,
  MergeQueues,
  mergeQueueSyscalls,
  sandboxRunner,
  type ReworkEvent,
} from '../src/mergequeue/index.ts';
import { Billing } from '../src/provisioning/index.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';

type Entry = { id: string; state: string; reason: string; duplicate: boolean; overlaps: { entry: string }[] };

onEveryStore('merge queue syscalls', (db) => {
  let fx: Fixture;
  let kernel: Kernel;
  let queues: MergeQueues;
  let sandboxes: SandboxManager;
  let admin: Principal;
  let tenantId: string;
  let billing: Billing;
  const reworks: ReworkEvent[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-sbx-'));

  before(async () => {
    fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo all good\n', 'shared.txt': 'one\n' });
    const store = await db().open();
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    sandboxes = await openSandboxes({ dataDir });
    billing = await Billing.open({ store });
    queues = await MergeQueues.open({
      store,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
      onRework: (event) => void reworks.push(event),
      metering: new CheckMetering(billing.meters, silentLogger()),
    });
    for (const d of mergeQueueSyscalls(queues)) kernel.register(d);
    tenantId = (await kernel.principals.createTenant('mq')).id;
    admin = await principal([{ syscall: '*', resource: '*' }]);
  });
  after(async () => {
    await queues.close();
    await billing.close();
    await sandboxes.close();
    await kernel.close();
    fx.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const principal = async (grants: Grant[]): Promise<Principal> => {
    const { key } = await kernel.principals.createApiKey({ tenantId, name: 'k', grants });
    return kernel.authenticate({ apiKey: key });
  };
  const call = <T>(name: string, input: unknown, p: Principal = admin): Promise<T> =>
    kernel.call<T>(name, input, { principal: p });
  const configure = (timeoutMs = 20_000) =>
    call('mq.configure', {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'sh check.sh', timeoutMs, runtimes: ['sh'] },
      batch: { min: 1, max: 4 },
    });

  it('refuses bad input with stable codes and changes nothing', async () => {
    await assert.rejects(
      call('mq.configure', { queue: 'x', repository: tmpdir(), target: 'main', check: { command: 'true' } }),
      withCode('E_REPOSITORY_NOT_ALLOWED'),
    );
    await assert.rejects(
      call('mq.configure', { queue: 'x', repository: fx.bare, target: 'nope', check: { command: 'true' } }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(call('mq.submit', { queue: 'x', branch: 'b' }), withCode('E_NOT_FOUND'));
    await configure();
    await assert.rejects(
      call('mq.submit', { queue: 'app', branch: 'no-such-branch' }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      call('mq.submit', { queue: 'app', branch: '--upload-pack=x' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(call('mq.submit', { queue: 'app', branch: 'main' }), withCode('E_CONFLICT'));
    const other = await principal([{ syscall: 'mq.*', resource: 'mq/other' }]);
    await assert.rejects(call('mq.list', { queue: 'app' }, other), withCode('E_CAPABILITY_DENIED'));
    assert.deepEqual((await call<{ entries: unknown[] }>('mq.list', { queue: 'app' })).entries, []);
  });

  it('merges good changes, rejects the culprit with its log, sends a conflict to rework, idempotent submit', async () => {
    const before = fx.mainLog();
    fx.branch('feat-a', { 'a.txt': 'a\n' });
    fx.branch('feat-broken', { BROKEN: 'yes\n' });
    fx.branch('feat-shared-1', { 'shared.txt': 'two\n' });
    fx.branch('feat-shared-2', { 'shared.txt': 'three\n' });
    const agent = await principal([{ syscall: 'mq.*', resource: 'mq/app' }]);
    const a = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-a', author: 'agent-a' }, agent);
    const again = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-a' }, agent);
    assert.deepEqual([again.id, again.duplicate], [a.id, true]);
    await queues.idle(tenantId, 'app'); // feat-a merges alone first
    const broken = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-broken', author: 'agent-b' });
    const s1 = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-shared-1', author: 'agent-c' });
    const s2 = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-shared-2', author: 'agent-d' });
    assert.deepEqual(
      s2.overlaps.map((o) => o.entry),
      [s1.id],
    );
    await queues.idle(tenantId, 'app');
    const state = async (id: string) =>
      (await call<{ entry: Entry }>('mq.show', { queue: 'app', id })).entry.state;
    assert.equal(await state(a.id), 'merged');
    assert.equal(await state(s1.id), 'merged');
    assert.equal(await state(broken.id), 'rejected');
    assert.equal(await state(s2.id), 'needs_rework');
    const shown = await call<{ failingLog: string; history: { to: string; reason: string }[] }>('mq.show', {
      queue: 'app',
      id: broken.id,
    });
    assert.ok(shown.history.some((h) => h.to === 'rejected' && /culprit/.test(h.reason)));
    assert.equal(typeof shown.failingLog, 'string');
    assert.ok(
      reworks.some((r) => r.entry === s2.id && r.files.includes('shared.txt') && r.author === 'agent-d'),
    );
    const log = fx.mainLog();
    assert.equal(log.length, before.length + 2); // one commit per tested batch, nothing else
    assert.equal(git(fx.bare, 'show', 'main:shared.txt'), 'two');
    const stats = await call<{ counts: Record<string, number>; culprits: unknown[] }>('mq.stats', {
      queue: 'app',
    });
    assert.deepEqual(stats.counts, { merged: 2, rejected: 1, needs_rework: 1 });
    assert.equal(stats.culprits.length, 1);
    // Every check's sandbox time is billed, in shares, to the authors of the changes it carried.
    const billed = async (subject?: string): Promise<number> => {
      const window = { from: 0, to: Date.now() + 60_000 };
      return Number(
        (await billing.meters.aggregate(tenantId, { type: CHECK_SECONDS_METER.type, ...window, subject }))
          .value,
      );
    };
    const checks = await queues.rows.checks(tenantId, 'app');
    const checkSeconds = checks.reduce((n, c) => n + (c.durationMs ?? 0), 0) / 1000;
    assert.ok((await billed('agent-a')) > 0 && (await billed('agent-b')) > 0);
    assert.ok(
      Math.abs((await billed()) - checkSeconds) < 0.01 * checks.length,
      `${await billed()} vs ${checkSeconds}`,
    );
  });

  it('a hanging check times out, is marked, and the queue moves on', async () => {
    await configure(1500);
    fx.branch('feat-hang', { 'check.sh': 'sleep 30\n' });
    fx.branch('feat-after', { 'b.txt': 'b\n' });
    const hang = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-hang' });
    await queues.idle(tenantId, 'app');
    const after = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-after' });
    await queues.idle(tenantId, 'app');
    const shown = await call<{ entry: Entry; checks: { timedOut: boolean }[] }>('mq.show', {
      queue: 'app',
      id: hang.id,
    });
    assert.equal(shown.entry.state, 'rejected');
    assert.ok(shown.checks.every((c) => c.timedOut));
    assert.equal(
      (await call<{ entry: Entry }>('mq.show', { queue: 'app', id: after.id })).entry.state,
      'merged',
    );
    await configure();
  });

  it('reading stats opens no worker: a reader in another process leaves the queue to the one that runs it', async () => {
    const owner = await queues.worker(tenantId, 'app');
    const fence = (await queues.rows.queue(tenantId, 'app')).fence;
    const reader = await MergeQueues.open({
      store: queues.rows.db,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
    });
    const read = await reader.stats(tenantId, 'app');
    assert.equal(read.running, false, 'no worker runs the queue in the reader');
    assert.equal(read.counts['merged'], (await queues.stats(tenantId, 'app')).counts['merged']);
    assert.equal(await reader.runningWorker(tenantId, 'app'), undefined, 'the read opened none');
    assert.equal((await queues.rows.queue(tenantId, 'app')).fence, fence, 'the fencing token is untouched');
    // The owner still holds the queue: its next change merges.
    assert.equal((await queues.stats(tenantId, 'app')).running, true);
    fx.branch('feat-after-read', { 'e.txt': 'e\n' });
    const entry = await call<Entry>('mq.submit', { queue: 'app', branch: 'feat-after-read' });
    await queues.idle(tenantId, 'app');
    assert.equal(owner.failure, undefined);
    assert.equal(
      (await call<{ entry: Entry }>('mq.show', { queue: 'app', id: entry.id })).entry.state,
      'merged',
    );
    await reader.close();
  });

  it('fencing: a second worker takes the queue; the first one’s stale advance is refused', async () => {
    const first = await queues.worker(tenantId, 'app');
    const second = await MergeQueues.open({
      store: queues.rows.db,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
    });
    const taken = await second.worker(tenantId, 'app'); // a newer fencing token
    assert.ok(taken.fence > first.fence);
    const main = fx.mainLog()[0];
    fx.branch('feat-stale', { 'c.txt': 'c\n' });
    await call('mq.submit', { queue: 'app', branch: 'feat-stale' }); // the first worker runs it
    await first.kick();
    assert.equal(first.failure?.code, 'E_LEASE_LOST');
    assert.equal(fx.mainLog()[0], main, 'the stale worker did not move main');
    await second.close();
  });

  it('a target moved outside the queue is not fast-forwarded over; nothing is recorded', async () => {
    const third = await MergeQueues.open({
      store: queues.rows.db,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
    });
    const worker = await third.worker(tenantId, 'app');
    const recorded = (await third.rows.queue(tenantId, 'app')).mainCommit;
    // Someone rewrites main behind the queue's back: a commit that does not descend from it.
    const outside = git(fx.bare, 'commit-tree', `${recorded}^{tree}`, '-m', 'rewritten');
    git(fx.bare, 'update-ref', 'refs/heads/main', outside);
    fx.branch('feat-after-rewrite', { 'd.txt': 'd\n' }, 'feat-a'); // an agent's branch from before
    await third.submit(tenantId, { queue: 'app', branch: 'feat-after-rewrite', author: 'x' });
    await worker.kick();
    assert.equal(worker.failure?.code, 'E_NOT_FAST_FORWARD');
    assert.equal(git(fx.bare, 'rev-parse', 'main'), outside, 'main keeps the outside commit');
    assert.equal(
      (await third.rows.queue(tenantId, 'app')).mainCommit,
      recorded,
      'the store recorded no move',
    );
    await third.close();
    const fourth = await MergeQueues.open({
      store: queues.rows.db,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
    });
    await assert.rejects(fourth.worker(tenantId, 'app'), withCode('E_NOT_FAST_FORWARD'));
    await fourth.close();
  });
});
