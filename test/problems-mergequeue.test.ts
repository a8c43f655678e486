/**
 * The needs-you list's merge-queue items on SQLite and PostgreSQL, over a real git repository with
 * checks in bubblewrap sandboxes: a culprit rejected and a conflict sent to rework are listed (with
 * `mq.submit` of their branch as the action) until their author resubmits the branch; a queue
 * stopped because main was rewritten outside it is listed (action `mq.resume`).
 */
import assert from 'node:assert/strict';
import { it, after, before } from 'node:test';
import { Engine, fleetSyscalls, type Problems } from '../src/orchestration/index.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';
import { openQueueHarness, type QueueHarness } from './mergequeue-harness.ts';

type Entry = { id: string; state: string };

onEveryStore('needs-you list: merge queue', (db) => {
  let fx: Fixture;
  let h: QueueHarness;

  before(async () => {
    fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo all good\n', 'shared.txt': 'one\n' });
    const store = await db().open();
    h = await openQueueHarness(store, { allowedRoots: [fx.allowedRoot] });
    for (const d of fleetSyscalls(await Engine.open({ store }))) h.kernel.register(d);
  });
  after(async () => {
    await h.close();
    fx.cleanup();
  });
  const call = <T>(name: string, input: unknown): Promise<T> => h.call<T>(name, input);
  const submit = (branch: string) =>
    call<Entry>('mq.submit', { queue: 'app', branch, author: `agent-${branch}` });
  const problems = () => call<Problems>('fleet.problems', { kinds: ['merge_change', 'merge_queue_stopped'] });

  it('lists rejected and needs_rework changes until resubmitted, and a stopped queue', async () => {
    await call('mq.configure', {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'sh check.sh', timeoutMs: 20_000, runtimes: ['sh'] },
      batch: { min: 1, max: 4 },
    });
    fx.branch('feat-broken', { BROKEN: 'yes\n' });
    fx.branch('feat-shared-1', { 'shared.txt': 'two\n' });
    fx.branch('feat-shared-2', { 'shared.txt': 'three\n' });
    const broken = await submit('feat-broken');
    await submit('feat-shared-1');
    const conflict = await submit('feat-shared-2');
    await h.queues.idle(h.tenantId, 'app');
    const listed = await problems();
    assert.deepEqual(
      listed.items.map((i) => [i.kind, i.id, i.action.syscall]).sort(),
      [
        ['merge_change', broken.id, 'mq.submit'],
        ['merge_change', conflict.id, 'mq.submit'],
      ].sort(),
      JSON.stringify(listed.items),
    );
    assert.equal(listed.count, 2);
    assert.match(
      listed.items.find((i) => i.id === broken.id)?.reason ?? '',
      /feat-broken by agent-feat-broken rejected/,
    );
    assert.match(listed.items.find((i) => i.id === conflict.id)?.reason ?? '', /needs rework/);
    assert.deepEqual(listed.items.find((i) => i.id === broken.id)?.action.input, {
      queue: 'app',
      branch: 'feat-broken',
    });

    // The author fixes the branch and resubmits it: the rejected entry is no longer listed.
    fx.branch('feat-broken', { 'fixed.txt': 'ok\n' }); // recreated from main, without BROKEN
    await submit('feat-broken');
    await h.queues.idle(h.tenantId, 'app');
    assert.deepEqual(
      (await problems()).items.map((i) => i.id),
      [conflict.id],
    );

    // Main rewritten outside the queue: the queue stops, and waits for a person to resume it.
    const recorded = git(fx.bare, 'rev-parse', 'main');
    git(
      fx.bare,
      'update-ref',
      'refs/heads/main',
      git(fx.bare, 'commit-tree', `${recorded}^{tree}`, '-m', 'rewritten'),
    );
    fx.branch('feat-late', { 'late.txt': 'late\n' }, 'feat-shared-1'); // an agent's branch from before
    await submit('feat-late');
    await assert.rejects(h.queues.idle(h.tenantId, 'app'), withCode('E_NOT_FAST_FORWARD'));
    const stopped = await problems();
    const stop = stopped.items.find((i) => i.kind === 'merge_queue_stopped');
    assert.deepEqual([stop?.id, stop?.action], ['app', { syscall: 'mq.resume', input: { queue: 'app' } }]);
    assert.match(stop?.reason ?? '', /E_NOT_FAST_FORWARD/);
    assert.equal(stopped.count, 2);
  });
});
