import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Mail } from './mail.ts';
import { mailSyscalls } from './syscalls.ts';
import { rawMessage, smtpSink } from './testing.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';

type MessageOut = { id: string; threadId: string; flags: string[]; status: string; subject: string };

onEveryStore('mail.* syscalls through the kernel pipeline', (db) => {
  let store: Store;
  let kernel: Kernel;
  let mail: Mail;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let acme: Principal;
  let globex: Principal;

  const principalIn = (name: string): Promise<Principal> =>
    principalInNewTenant(kernel, name, [{ syscall: 'mail.*', resource: '*' }]);
  const call = <T>(name: string, input: unknown, principal = acme): Promise<T> =>
    kernel.call<T>(name, input, { principal });

  before(async () => {
    store = await db().open();
    const masterKey = randomBytes(32);
    sink = await smtpSink();
    kernel = await Kernel.open({ store, masterKey });
    mail = await Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.example',
      domains: ['strata.example'],
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    for (const definition of mailSyscalls(mail)) kernel.register(definition);
    acme = await principalIn('acme');
    globex = await principalIn('globex');
  });
  after(async () => {
    await sink.close();
    await kernel.close(1000);
  });

  it('creates a mailbox, reads, threads, extracts codes and replies; the tenant comes from the principal', async () => {
    const box = await call<{ id: string; address: string }>('mail.mailboxes.create', {
      agent: 'signup-bot',
      address: 'signup@strata.example',
    });
    await assert.rejects(
      call('mail.mailboxes.create', { agent: 'x', address: 'x@elsewhere.example' }),
      withCode('E_INVALID_INPUT'),
    );
    const [inbound] = await mail.deliver(
      {
        mailFrom: 'no-reply@service.example',
        recipients: [box.address],
        remoteAddress: '192.0.2.9',
        helo: 'h',
      },
      rawMessage({
        from: 'no-reply@service.example',
        to: [box.address],
        subject: 'Confirm your account',
        messageId: 'welcome@service.example',
        text: 'Your one-time code is 7731. Confirm: https://service.example/confirm?token=9f8e7d6c5b4a39281706',
      }),
    );
    const listed = await call<{ messages: MessageOut[] }>('mail.list', { mailbox: box.address });
    assert.deepEqual(
      listed.messages.map((m) => m.id),
      [inbound!.id],
    );
    assert.deepEqual(listed.messages[0]!.flags, ['unauthenticated'], 'no SPF/DKIM/DMARC pass: flagged');
    const codes = await call<{
      codes: { code: string }[];
      links: { domain: string }[];
      authenticated: boolean;
    }>('mail.extract_codes', { id: inbound!.id });
    assert.deepEqual(
      codes.codes.map((c) => c.code),
      ['7731'],
    );
    assert.deepEqual(
      codes.links.map((l) => l.domain),
      ['service.example'],
    );
    assert.equal(codes.authenticated, false);

    const reply = await call<MessageOut>('mail.send', {
      mailbox: box.id,
      to: 'no-reply@service.example',
      subject: 'Re: Confirm your account',
      text: 'Done.',
      inReplyTo: inbound!.id,
    });
    assert.equal(reply.status, 'sent');
    assert.equal(reply.threadId, inbound!.threadId);
    const threads = await call<{ threads: { id: string; messageCount: number }[] }>('mail.threads', {
      mailbox: box.id,
    });
    assert.deepEqual(
      threads.threads.map((t) => [t.id, t.messageCount]),
      [[inbound!.threadId, 2]],
    );
    const inThread = await call<{ messages: MessageOut[] }>('mail.list', {
      mailbox: box.id,
      thread: inbound!.threadId,
    });
    assert.deepEqual(
      inThread.messages.map((m) => m.id),
      [reply.id, inbound!.id],
    );

    // Another tenant sees none of it.
    await assert.rejects(call('mail.get', { id: inbound!.id }, globex), withCode('E_NOT_FOUND'));
    await assert.rejects(call('mail.list', { mailbox: box.address }, globex), withCode('E_NOT_FOUND'));
    assert.deepEqual(await call('mail.mailboxes.list', {}, globex), { mailboxes: [] });
  });

  it('refuses the Bcc injection through the syscall with its own code and sends nothing', async () => {
    const before = sink.received.length;
    await assert.rejects(
      call('mail.send', {
        mailbox: 'signup@strata.example',
        to: 'Agent <a@x.test>\r\nBcc: y@evil.test',
        subject: 'x',
        text: 'x',
      }),
      withCode('E_MAIL_ADDRESS_INVALID'),
    );
    assert.equal(sink.received.length, before);
  });
});
