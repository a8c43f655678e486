/**
 * Rework tasks in a running server (SQLite, a real git repository under `<dataDir>/repos`, checks
 * in sandboxes, the in-process worker, mail through a relay to an SMTP sink): a conflict's person
 * author finds one task on the board (`fleet.task.list`) and one mail from the tenant's escalation
 * mailbox; after a restart, the queue's reconcile starts nothing again: still one task, one mail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { smtpSink } from '../src/identity/index.ts';
import { configSchema, type Principal, type StrataConfig } from '../src/kernel/index.ts';
import type { Task } from '../src/orchestration/tasks/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';
import { createFixture, type Fixture } from './mergequeue-fixture.ts';

void describe('rework tasks in the running server', () => {
  let fx: Fixture;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let config: StrataConfig;
  let runtime: Runtime;
  let principal: Principal;
  const call = <T>(name: string, input: unknown): Promise<T> =>
    runtime.kernel.call<T>(name, input, { principal });
  /** Rework tasks of an entry, once `count` of them exist (or the deadline passes). */
  const tasksOf = async (entry: string, count = 1): Promise<Task[]> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { tasks } = await call<{ tasks: Task[] }>('fleet.task.list', {});
      const found = tasks.filter((t) => (t.payload as { entry?: string }).entry === entry);
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const mailsTo = async (address: string): Promise<number> => {
    const deadline = Date.now() + 20_000;
    const count = () => sink.received.filter((m) => m.rcptTo.includes(address)).length;
    while (count() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return count();
  };

  before(async () => {
    fx = createFixture({ 'check.sh': 'echo ok\n', 'shared.txt': 'one\n' });
    sink = await smtpSink();
    config = configSchema.parse({
      dataDir: fx.root, // the fixture's repositories are in <dataDir>/repos, the queues' root
      mail: {
        hostname: 'mx.strata.test',
        domains: ['agents.test'],
        relayUrl: `smtp://127.0.0.1:${sink.port}`,
      },
    });
    runtime = await openRuntime({ config, worker: true });
    const boot = await bootstrapDefaultTenant(runtime);
    principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey });
    await runtime.kernel.principals.createAgent({ tenantId: boot.tenantId, name: 'queue' });
    await call('mail.mailboxes.create', { agent: 'queue', address: 'queue@agents.test' });
    await call('escalations.route.set', {
      channel: 'mail',
      target: 'ops@example.com',
      mailbox: 'queue@agents.test',
    });
  });
  after(async () => {
    await runtime?.close();
    await sink?.close();
    fx?.cleanup();
  });

  void it('a conflict: one task and one mail for the person, still one of each after a restart', async () => {
    await call('mq.configure', {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'sh check.sh', runtimes: ['sh'] },
    });
    fx.branch('one', { 'shared.txt': 'two\n' });
    fx.branch('other', { 'shared.txt': 'three\n' });
    await call('mq.submit', { queue: 'app', branch: 'one', author: 'bob@example.com' });
    const late = await call<{ id: string }>('mq.submit', {
      queue: 'app',
      branch: 'other',
      author: 'alice@example.com',
    });
    await runtime.mergeQueues.idle(principal.tenantId, 'app');
    const [task, ...more] = await tasksOf(late.id);
    assert.equal(more.length, 0);
    assert.deepEqual((task?.payload as { files: string[] }).files, ['shared.txt']);
    assert.equal(await mailsTo('alice@example.com'), 1);

    await runtime.close();
    runtime = await openRuntime({ config, worker: true });
    await runtime.mergeQueues.idle(principal.tenantId, 'app');
    assert.equal((await tasksOf(late.id, 2)).length, 1);
    assert.equal(await mailsTo('alice@example.com'), 1);
  });
});
