/**
 * Outbound refusals happen before nodemailer sees anything: the remote sink receives nothing and
 * no message row is written. A relay that refuses leaves the message stored as `failed`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { validateAddress } from './address.ts';
import { memoryResolver } from './auth.ts';
import { Mail } from './mail.ts';
import type { Mailbox } from './repo.ts';
import { smtpSink } from './testing.ts';

const refused = (code: string, reason?: string) => (error: unknown) =>
  withCode(code)(error) &&
  (reason === undefined || (error as { data?: { reason?: string } }).data?.reason === reason);

describe('address validation', () => {
  it('accepts one plain addr-spec, lower-cased', () => {
    assert.equal(validateAddress('First.Last+tag@Sub.Example.com'), 'first.last+tag@sub.example.com');
  });
  it('refuses what nodemailer would parse into other recipients', () => {
    const cases: [string, string][] = [
      ['Agent <a@x.test>\r\nBcc: y@evil.test', 'crlf'],
      ['a@x.test\nBcc: y@evil.test', 'crlf'],
      ['friends: a@x.test, y@evil.test;', 'group'],
      ['Agent <a@x.test>', 'display-name'],
      ['"a@x.test" y@evil.test', 'display-name'],
      ['a@x.test, y@evil.test', 'list'],
      ['a@x.test y@evil.test', 'list'],
      ['a@localhost', 'syntax'],
      ['@x.test', 'syntax'],
      ['a..b@x.test', 'syntax'],
      ['a@-x.test', 'syntax'],
      [`${'a'.repeat(250)}@x.test`, 'length'],
    ];
    for (const [value, reason] of cases) {
      assert.throws(() => validateAddress(value, 'to'), refused('E_MAIL_ADDRESS_INVALID', reason), value);
    }
  });
});

onEveryStore('sending refusals', (db) => {
  const masterKey = randomBytes(32);
  let store: Store;
  let mail: Mail;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let mailbox: Mailbox;
  const rows = async (): Promise<number> =>
    Number((await store.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM mail_messages'))?.n);

  before(async () => {
    store = await db().open();
    sink = await smtpSink();
    mail = await Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    mailbox = await mail.createMailbox({ tenant: 'acme', agent: 'a1', address: 'agent@strata.example' });
  });
  after(async () => {
    await sink.close();
    await store.close();
  });

  it('refuses the nodemailer Bcc/group case, CR/LF in subjects and display names; sends nothing', async () => {
    const base = { tenant: 'acme', mailboxId: mailbox.id, subject: 'hi', text: 'x' };
    const attempts: [Parameters<Mail['send']>[0], string, string?][] = [
      [{ ...base, to: ['Agent <a@x.test>\r\nBcc: y@evil.test'] }, 'E_MAIL_ADDRESS_INVALID', 'crlf'],
      [{ ...base, to: ['undisclosed: y@evil.test;'] }, 'E_MAIL_ADDRESS_INVALID', 'group'],
      [{ ...base, to: [] }, 'E_MAIL_ADDRESS_INVALID'],
      [{ ...base, to: ['a@x.test'], subject: 'hi\r\nBcc: y@evil.test' }, 'E_MAIL_HEADER_INVALID'],
      [{ ...base, to: ['a@x.test'], subject: 'hi\nthere' }, 'E_MAIL_HEADER_INVALID'],
    ];
    for (const [input, code, reason] of attempts) {
      await assert.rejects(mail.send(input), refused(code, reason), JSON.stringify(input));
    }
    await assert.rejects(
      mail.createMailbox({
        tenant: 'acme',
        agent: 'a2',
        address: 'b@strata.example',
        displayName: 'B\r\nBcc: y@evil.test',
      }),
      withCode('E_MAIL_HEADER_INVALID'),
    );
    await assert.rejects(
      mail.createMailbox({ tenant: 'acme', agent: 'a2', address: 'c@strata.example\r\nBcc: y@evil.test' }),
      withCode('E_MAIL_ADDRESS_INVALID'),
    );
    assert.equal(sink.received.length, 0);
    assert.equal(await rows(), 0);
    assert.deepEqual(await mail.listMailboxes('acme'), [mailbox]);
  });

  it('keeps mailboxes and messages inside their tenant', async () => {
    await assert.rejects(
      mail.send({ tenant: 'other', mailboxId: mailbox.id, to: ['a@x.test'], subject: 's', text: 't' }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(mail.list({ tenant: 'other', mailbox: mailbox.address }), withCode('E_NOT_FOUND'));
    await assert.rejects(
      mail.createMailbox({ tenant: 'other', agent: 'x', address: 'AGENT@strata.example' }),
      withCode('E_CONFLICT'),
    );
  });

  it('stores the message before sending and marks it failed when the relay refuses', async () => {
    const down = await Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: 1, timeoutMs: 2000 },
    });
    const error = await down
      .send({ tenant: 'acme', mailboxId: mailbox.id, to: ['a@x.test'], subject: 'hello', text: 'x' })
      .then(
        () => undefined,
        (e: unknown) => e as { code: string; data: { id: string } },
      );
    assert.equal(error?.code, 'E_MAIL_SEND_FAILED');
    const stored = await mail.get('acme', error.data.id);
    assert.equal(stored.status, 'failed');
    assert.match(stored.messageId, /@strata\.example$/);
    assert.ok(stored.rawHash, 'the signed bytes were stored before the attempt');
    assert.ok(stored.error);
  });
});
