/**
 * Labels on both engines through the kernel: system labels on inbound (`unauthenticated` when
 * DMARC did not pass, `has-attachments`) applied as the message is stored, labels added to and
 * removed from messages and threads, listing by label (a thread's label covers a reply arriving
 * later), bad names and other tenants refused; and `mail.reply_text` on a stored reply.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Labels, labelsExtension } from './labels.ts';
import { labelSyscalls } from './labels-syscalls.ts';
import { Mail } from './mail.ts';
import { rawMessage } from './testing.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';

const BOX = 'inbox@strata.example';
// remote.example sends from 127.0.0.1 with an aligned SPF pass, so DMARC passes.
const resolver = memoryResolver({
  'remote.example TXT': ['v=spf1 ip4:127.0.0.1 -all'],
  '_dmarc.remote.example TXT': ['v=DMARC1; p=reject'],
});

/** A multipart message with one small PDF attached. */
function withAttachment(from: string, subject: string): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      `To: ${BOX}`,
      `Subject: ${subject}`,
      'Date: Sun, 01 Mar 2026 10:00:00 GMT',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Invoice attached.',
      '--b1',
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('%PDF-1.4 tiny').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

type Listed = { messages: { id: string; subject: string; labels: string[] }[] };

onEveryStore('mail labels and reply text through the kernel', (db) => {
  let store: Store;
  let kernel: Kernel;
  let mail: Mail;
  let labels: Labels;
  let acme: Principal;
  let globex: Principal;
  const call = <T>(name: string, input: unknown, principal = acme): Promise<T> =>
    kernel.call<T>(name, input, { principal });
  const deliver = async (from: string, raw: Buffer, remoteAddress = '127.0.0.1') => {
    const [stored] = await mail.deliver({ mailFrom: from, recipients: [BOX], remoteAddress, helo: 'h' }, raw);
    assert.ok(stored);
    return stored;
  };
  const principalIn = (name: string): Promise<Principal> =>
    principalInNewTenant(kernel, name, [{ syscall: 'mail.*', resource: '*' }]);

  before(async () => {
    store = await db().open();
    const masterKey = randomBytes(32);
    kernel = await Kernel.open({ store, masterKey });
    mail = await Mail.open({ store, masterKey, hostname: 'mx.strata.example', resolver });
    labels = await Labels.open({ mail });
    mail.use(labelsExtension());
    for (const definition of labelSyscalls({ mail, labels })) kernel.register(definition);
    acme = await principalIn('acme');
    globex = await principalIn('globex');
    await mail.createMailbox({ tenant: acme.tenantId, agent: 'a', address: BOX });
  });
  after(async () => kernel.close(1000));

  const labelsOf = (id: string) => labels.of(acme.tenantId, { kind: 'message', id });

  it('labels inbound mail as it is stored: unauthenticated (no DMARC pass), has-attachments', async () => {
    const genuine = await deliver(
      'billing@remote.example',
      rawMessage({ from: 'billing@remote.example', to: [BOX], subject: 'Receipt' }),
    );
    assert.equal(genuine.authenticated, true);
    assert.deepEqual(await labelsOf(genuine.id), []);
    const spoofed = await deliver(
      'billing@remote.example',
      withAttachment('billing@remote.example', 'Invoice'),
      '198.51.100.7',
    );
    assert.deepEqual(await labelsOf(spoofed.id), ['has-attachments', 'unauthenticated']);
    const byLabel = await call<Listed>('mail.labels.list', { mailbox: BOX, label: 'unauthenticated' });
    assert.deepEqual(
      byLabel.messages.map((m) => m.id),
      [spoofed.id],
    );
  });

  it('adds and removes labels on messages and threads; a thread label covers later replies', async () => {
    const first = await deliver(
      'ann@remote.example',
      rawMessage({
        from: 'ann@remote.example',
        to: [BOX],
        subject: 'Project X',
        messageId: 'x1@remote.example',
      }),
    );
    const other = await deliver(
      'ann@remote.example',
      rawMessage({ from: 'ann@remote.example', to: [BOX], subject: 'Lunch', messageId: 'l1@remote.example' }),
    );
    const added = await call<{ labels: string[] }>('mail.labels.add', {
      thread: first.threadId,
      labels: ['Project-X', 'todo'],
    });
    assert.deepEqual(added.labels, ['project-x', 'todo'], 'names are lower-cased');
    await call('mail.labels.add', { message: other.id, labels: ['todo'] });
    const reply = await deliver(
      'ann@remote.example',
      rawMessage({
        from: 'ann@remote.example',
        to: [BOX],
        subject: 'Re: Project X',
        messageId: 'x2@remote.example',
        inReplyTo: 'x1@remote.example',
      }),
    );
    const todo = await call<Listed>('mail.labels.list', { mailbox: BOX, label: 'todo' });
    assert.deepEqual(
      todo.messages.map((m) => m.id),
      [reply.id, other.id, first.id],
    );
    assert.deepEqual(todo.messages[0]?.labels, ['project-x', 'todo']);
    const removed = await call<{ labels: string[] }>('mail.labels.remove', {
      thread: first.threadId,
      labels: ['todo'],
    });
    assert.deepEqual(removed.labels, ['project-x']);
    const after = await call<Listed>('mail.labels.list', { mailbox: BOX, label: 'todo' });
    assert.deepEqual(
      after.messages.map((m) => m.id),
      [other.id],
    );
  });

  it('refuses bad label names, a missing target, and another tenant’s messages', async () => {
    const message = await deliver(
      'ann@remote.example',
      rawMessage({ from: 'ann@remote.example', to: [BOX], subject: 'Names' }),
    );
    await assert.rejects(
      call('mail.labels.add', { message: message.id, labels: ['has spaces'] }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      call('mail.labels.add', { message: message.id, thread: message.threadId, labels: ['x'] }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      call('mail.labels.add', { thread: 'thr_nope', labels: ['x'] }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      call('mail.labels.add', { message: message.id, labels: ['x'] }, globex),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      call('mail.labels.list', { mailbox: BOX, label: 'todo' }, globex),
      withCode('E_NOT_FOUND'),
    );
  });

  it('mail.reply_text gives the new text of a stored reply', async () => {
    const reply = await deliver(
      'ann@remote.example',
      rawMessage({
        from: 'ann@remote.example',
        to: [BOX],
        subject: 'Re: Plan',
        text: 'Agreed, ship it.\r\n\r\nAm Mo., 2. März 2026 um 10:00 Uhr schrieb Bot <inbox@strata.example>:\r\n> Shall we ship?\r\n',
      }),
    );
    const out = await call<{ text: string; trimmed: boolean }>('mail.reply_text', { id: reply.id });
    assert.deepEqual(out, { id: reply.id, text: 'Agreed, ship it.', trimmed: true });
    await assert.rejects(call('mail.reply_text', { id: reply.id }, globex), withCode('E_NOT_FOUND'));
  });
});
