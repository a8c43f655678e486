/**
 * Waits for inbound mail on both engines: a stored match fires at registration, a later delivery
 * fires the waits it matches and no others, cancel and the fired-meanwhile race, the sweep that
 * hands fired waits to their runs (once; dropped for a finished run; retried after a failure),
 * and registration racing delivery never losing the message (the mailbox lock).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, after, it } from 'node:test';
import { StrataError, type Store } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Mail } from './mail.ts';
import { rawMessage } from './testing.ts';
import type { MailWait } from './waits.ts';

const TENANT = 'ten_waits';

onEveryStore('mail waits', (db) => {
  let store: Store;
  let mail: Mail;
  let box: string;
  const deliver = (spec: { from: string; subject: string; inReplyTo?: string; messageId?: string }) =>
    mail.deliver(
      {
        mailFrom: spec.from,
        recipients: ['waiter@agents.test'],
        remoteAddress: '127.0.0.1',
        helo: 'sender.test',
      },
      rawMessage({ to: ['waiter@agents.test'], ...spec }),
    );
  const register = (query: Parameters<Mail['waits']['register']>[0]['query'], runId?: string) =>
    mail.waits.register({ tenant: TENANT, mailbox: box, query, ...(runId ? { runId } : {}) });

  before(async () => {
    store = await db().open();
    mail = await Mail.open({
      store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.test',
      resolver: memoryResolver({}),
    });
    box = (await mail.createMailbox({ tenant: TENANT, agent: 'waiter', address: 'waiter@agents.test' })).id;
  });
  after(async () => store?.close());

  it('a message already stored since the given time fires the wait at registration', async () => {
    const since = Date.now() - 1;
    const [stored] = await deliver({ from: 'noreply@service.test', subject: 'Your code is 123456' });
    const wait = await register({ from: '@service.test', subject: 'YOUR CODE', since });
    assert.equal(wait.status, 'fired');
    assert.equal(wait.messageId, stored?.id);
    const later = await register({ from: '@service.test', subject: 'your code' });
    assert.equal(later.status, 'waiting', 'without since, only messages from now on count');
    await mail.waits.cancel(TENANT, later.id);
  });

  it('a delivery fires the waits it matches and leaves the others waiting', async () => {
    const bySender = await register({ from: 'boss@corp.test' });
    const bySubject = await register({ subject: 'invoice' });
    const other = await register({ from: 'someone-else@corp.test' });
    const [message] = await deliver({ from: 'Boss <boss@corp.test>', subject: 'Re: Invoice 42' });
    for (const wait of [bySender, bySubject]) {
      const now = await mail.waits.get(TENANT, wait.id);
      assert.deepEqual([now.status, now.messageId], ['fired', message?.id]);
    }
    assert.equal((await mail.waits.get(TENANT, other.id)).status, 'waiting');
    assert.equal((await mail.waits.cancel(TENANT, other.id)).status, 'cancelled');
    await deliver({ from: 'someone-else@corp.test', subject: 'late' });
    assert.equal(
      (await mail.waits.get(TENANT, other.id)).status,
      'cancelled',
      'a cancelled wait stays cancelled',
    );
  });

  it('a wait on a thread fires only on a message of that thread', async () => {
    const [first] = await deliver({ from: 'a@x.test', subject: 'Plan', messageId: 'plan-1@x.test' });
    // A wait counts messages received since it was registered (by default, now): registered in the
    // thread's first message's millisecond, it would count that message itself (a flake seen in CI).
    await new Promise((r) => setTimeout(r, 2));
    const wait = await register({ thread: first?.threadId ?? '' });
    await deliver({ from: 'a@x.test', subject: 'Unrelated', messageId: 'other@x.test' });
    assert.equal((await mail.waits.get(TENANT, wait.id)).status, 'waiting');
    const [reply] = await deliver({
      from: 'a@x.test',
      subject: 'Re: Plan',
      inReplyTo: 'plan-1@x.test',
      messageId: 'plan-2@x.test',
    });
    assert.equal((await mail.waits.get(TENANT, wait.id)).messageId, reply?.id);
  });

  it('cancelling a wait that fired meanwhile returns it fired, with its message', async () => {
    const wait = await register({ subject: 'race' });
    const [message] = await deliver({ from: 'r@x.test', subject: 'race' });
    const cancelled = await mail.waits.cancel(TENANT, wait.id);
    assert.deepEqual([cancelled.status, cancelled.messageId], ['fired', message?.id]);
  });

  it('hands fired waits of runs to the deliverer once; drops them for finished runs; retries after a failure', async () => {
    const handed: MailWait[] = [];
    let failWith: StrataError | undefined = new StrataError(
      'E_STORE',
      'engine briefly unavailable',
      {},
      { retryable: true },
    );
    mail.waits.onFired((wait) => {
      if (failWith) return Promise.reject(failWith);
      handed.push(wait);
      return Promise.resolve();
    });
    const mine = await register({ subject: 'for run 1' }, 'run_1');
    await deliver({ from: 's@x.test', subject: 'for run 1' }); // the deliverer fails: left for the sweep
    assert.equal(handed.length, 0);
    failWith = undefined;
    assert.equal(await mail.waits.sweep(), 1);
    assert.deepEqual(
      handed.map((w) => [w.id, w.runId, w.signal]),
      [[mine.id, 'run_1', `mail:${mine.id}`]],
    );
    assert.equal(await mail.waits.sweep(), 0, 'handed over once');

    const gone = await register({ subject: 'for a finished run' }, 'run_2');
    failWith = new StrataError('E_CONFLICT', 'run run_2 is completed; it takes no signals');
    await deliver({ from: 's@x.test', subject: 'for a finished run' });
    failWith = undefined;
    assert.equal(await mail.waits.sweep(), 0, 'a finished run’s wait is dropped, not retried');
    assert.ok(!handed.some((w) => w.id === gone.id));
  });

  it('registering while a matching message is delivered never misses it (20 races)', async () => {
    for (let i = 0; i < 20; i++) {
      const subject = `race ${i} ${randomBytes(4).toString('hex')}`;
      const since = Date.now() - 1;
      const [wait] = await Promise.all([
        register({ subject, since }),
        deliver({ from: 'r@x.test', subject }),
      ]);
      const now = await mail.waits.get(TENANT, wait.id);
      assert.equal(now.status, 'fired', `race ${i}: the wait missed the message`);
    }
  });

  it('refuses a wait on a mailbox of another tenant', async () => {
    await assert.rejects(
      mail.waits.register({ tenant: 'ten_other', mailbox: box, query: {} }),
      (e: unknown) => e instanceof StrataError && e.code === 'E_NOT_FOUND',
    );
  });
});
