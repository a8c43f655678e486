/**
 * Drafts on both engines with a real SMTP relay (smtpSink): validation at draft time, editing,
 * sending exactly once (twice in a row, and two callers racing), scheduled sends picked up by the
 * sweeper (cancel before due; a relay refusal recorded on the draft), and two "processes" sweeping
 * one database sending each due draft once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { startDraftSweeper } from './draft-sweeper.ts';
import { Drafts } from './drafts.ts';
import { Mail } from './mail.ts';
import { rawMessage, smtpSink } from './testing.ts';

const TENANT = 'ten_drafts';

/** Polls `check` until it holds (at most `ms`). */
async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

onEveryStore('mail drafts', (db) => {
  let stores: Store[] = [];
  let mail: Mail;
  let drafts: Drafts;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  const masterKey = randomBytes(32);
  const openMail = async (store: Store) =>
    Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.test',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
  const relayedWith = (subject: string) =>
    sink.received.filter((m) => m.raw.toString('utf8').includes(`Subject: ${subject}`));
  const draft = (subject: string, to = ['peer@remote.test']) =>
    drafts.create(TENANT, { mailbox: 'writer@agents.test', to, subject, text: `body of ${subject}` });

  before(async () => {
    // async: smtpSink turns a rejection into an SMTP error reply (a synchronous throw escapes it).
    sink = await smtpSink(async (m) => {
      await Promise.resolve();
      if (m.raw.toString('utf8').includes('Subject: refuse me')) throw new Error('mailbox full');
    });
    stores = [await db().open()];
    mail = await openMail(stores[0]!);
    drafts = await Drafts.open({ mail });
    await mail.createMailbox({ tenant: TENANT, agent: 'writer', address: 'writer@agents.test' });
  });
  after(async () => {
    await sink.close();
    for (const store of stores) await store.close();
  });

  it('refuses bad addresses and header text when the draft is written, not when it is sent', async () => {
    await assert.rejects(
      draft('x', ['Agent <a@x.test>\r\nBcc: y@evil.test']),
      withCode('E_MAIL_ADDRESS_INVALID'),
    );
    await assert.rejects(draft('Hi\r\nBcc: y@evil.test'), withCode('E_MAIL_HEADER_INVALID'));
    const ok = await draft('fine');
    await assert.rejects(
      drafts.update(TENANT, ok.id, { to: ['not an address'] }),
      withCode('E_MAIL_ADDRESS_INVALID'),
    );
    await assert.rejects(drafts.update(TENANT, ok.id, { inReplyTo: 'msg_nope' }), withCode('E_NOT_FOUND'));
    const empty = await drafts.create(TENANT, { mailbox: 'writer@agents.test' });
    await assert.rejects(drafts.send(TENANT, empty.id), withCode('E_MAIL_ADDRESS_INVALID'));
    assert.equal((await drafts.get(TENANT, empty.id)).status, 'draft', 'a refused send leaves the draft');
  });

  it('creates, updates, lists, reads and deletes drafts of a mailbox; other tenants see none', async () => {
    const a = await draft('first');
    const b = await draft('second');
    const updated = await drafts.update(TENANT, a.id, { subject: 'First, edited', to: ['Peer@Remote.test'] });
    assert.deepEqual([updated.subject, updated.to], ['First, edited', ['peer@remote.test']]);
    const listed = await drafts.list(TENANT, { mailbox: 'writer@agents.test', status: 'draft' });
    assert.ok(
      listed.findIndex((d) => d.id === b.id) < listed.findIndex((d) => d.id === a.id),
      'newest first',
    );
    await drafts.delete(TENANT, b.id);
    await assert.rejects(drafts.get(TENANT, b.id), withCode('E_NOT_FOUND'));
    await assert.rejects(drafts.get('ten_other', a.id), withCode('E_NOT_FOUND'));
    await assert.rejects(
      drafts.list('ten_other', { mailbox: 'writer@agents.test' }),
      withCode('E_NOT_FOUND'),
    );
  });

  it('sends a draft once: it records the message; sending again returns it and relays nothing', async () => {
    const d = await draft('send once');
    const sent = await drafts.send(TENANT, d.id);
    assert.equal(sent.status, 'sent');
    const message = await mail.get(TENANT, sent.messageId ?? '');
    assert.deepEqual([message.status, message.subject], ['sent', 'send once']);
    const again = await drafts.send(TENANT, d.id);
    assert.equal(again.messageId, sent.messageId);
    assert.equal(relayedWith('send once').length, 1);
    await assert.rejects(drafts.update(TENANT, d.id, { text: 'late edit' }), withCode('E_CONFLICT'));
  });

  it('two callers racing to send one draft relay exactly one message (10 races)', async () => {
    for (let i = 0; i < 10; i++) {
      const subject = `race ${i} ${randomBytes(3).toString('hex')}`;
      const d = await draft(subject);
      const outcomes = await Promise.allSettled([drafts.send(TENANT, d.id), drafts.send(TENANT, d.id)]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.ok(won.length >= 1, `race ${i}: nobody sent it`);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(withCode('E_CONFLICT')(o.reason));
      assert.equal(relayedWith(subject).length, 1, `race ${i}: relayed ${relayedWith(subject).length} times`);
      assert.equal((await drafts.get(TENANT, d.id)).status, 'sent');
    }
  });

  it('the sweeper sends a scheduled draft when due; a cancelled one is not sent', async () => {
    const sweeper = startDraftSweeper(drafts, { intervalMs: 25 });
    try {
      const due = await draft('scheduled soon');
      const cancelled = await draft('scheduled, then cancelled');
      await drafts.schedule(TENANT, due.id, Date.now() + 300);
      await drafts.schedule(TENANT, cancelled.id, Date.now() + 300);
      assert.equal((await drafts.get(TENANT, due.id)).status, 'scheduled');
      const back = await drafts.cancel(TENANT, cancelled.id);
      assert.deepEqual([back.status, back.sendAt], ['draft', null]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(relayedWith('scheduled soon').length, 0, 'not before it is due');
      await eventually(async () => (await drafts.get(TENANT, due.id)).status === 'sent');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(relayedWith('scheduled soon').length, 1);
      assert.equal(relayedWith('scheduled, then cancelled').length, 0);
      await assert.rejects(drafts.cancel(TENANT, due.id), withCode('E_CONFLICT'), 'too late to cancel');
    } finally {
      await sweeper.stop();
    }
  });

  it('a scheduled send the relay refuses is recorded on the draft, with the error and the message', async () => {
    const d = await draft('refuse me');
    await drafts.schedule(TENANT, d.id, Date.now() - 1);
    assert.equal(await drafts.sweep(), 1);
    const failed = await drafts.get(TENANT, d.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /mailbox full/);
    assert.equal((await mail.get(TENANT, failed.messageId ?? '')).status, 'failed');
    assert.equal(await drafts.sweep(), 0, 'a failed draft is not retried by the sweeper');
  });

  it('two processes sweeping one database send each due draft once', async () => {
    const second = await db().open();
    stores.push(second);
    const other = await Drafts.open({ mail: await openMail(second) });
    const subjects = Array.from({ length: 8 }, (_, i) => `fleet ${i} ${randomBytes(3).toString('hex')}`);
    for (const subject of subjects) await drafts.schedule(TENANT, (await draft(subject)).id, Date.now() - 1);
    const [mine, theirs] = await Promise.all([drafts.sweep(), other.sweep()]);
    assert.equal(mine + theirs, subjects.length);
    for (const subject of subjects) assert.equal(relayedWith(subject).length, 1, subject);
  });

  it('a reply draft threads with the message it answers', async () => {
    const [inbound] = await mail.deliver(
      {
        mailFrom: 'peer@remote.test',
        recipients: ['writer@agents.test'],
        remoteAddress: '192.0.2.1',
        helo: 'r',
      },
      rawMessage({
        from: 'peer@remote.test',
        to: ['writer@agents.test'],
        subject: 'Question',
        messageId: 'q1@remote.test',
      }),
    );
    const d = await drafts.create(TENANT, {
      mailbox: 'writer@agents.test',
      to: ['peer@remote.test'],
      subject: 'Re: Question',
      text: 'Answer.',
      inReplyTo: inbound!.id,
    });
    const sent = await mail.get(TENANT, (await drafts.send(TENANT, d.id)).messageId ?? '');
    assert.deepEqual([sent.threadId, sent.inReplyTo], [inbound!.threadId, 'q1@remote.test']);
  });
});
