/**
 * The must-show exchange on 127.0.0.1: nodemailer → Strata's SMTP server → an agent's inbox; the
 * agent replies through Strata → a second smtp-server standing in for the remote side, where
 * mailauth with in-memory DNS reports DKIM, SPF and DMARC pass. A spoofed sender fails DMARC and is
 * flagged; a body changed after signing reports DKIM neutral and counts as unauthenticated.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createTransport } from 'nodemailer';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { memoryResolver, verifyMessage, type AuthVerdicts } from './auth.ts';
import { Mail } from './mail.ts';
import type { Mailbox } from './repo.ts';
import type { RunningSmtpServer } from './smtp.ts';
import { smtpSink } from './testing.ts';

// The remote side's own DKIM key, so its mail to the agent authenticates too.
const remoteKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

const zone: Record<string, string[]> = {
  'strata.example TXT': ['v=spf1 ip4:127.0.0.1 -all'],
  '_dmarc.strata.example TXT': ['v=DMARC1; p=reject; adkim=s; aspf=s'],
  'remote.example TXT': ['v=spf1 ip4:127.0.0.1 -all'],
  'remote.example A': ['127.0.0.1'],
  'rk._domainkey.remote.example TXT': [`v=DKIM1; k=rsa; p=${remoteKey.publicKey.toString('base64')}`],
  '_dmarc.remote.example TXT': ['v=DMARC1; p=reject'],
  // The bank only sends from another network and rejects anything unaligned.
  'bank.example TXT': ['v=spf1 ip4:203.0.113.5 -all'],
  'bank.example A': ['203.0.113.5'],
  '_dmarc.bank.example TXT': ['v=DMARC1; p=reject'],
};
const resolver = memoryResolver(zone);

onEveryStore('mail exchange over real SMTP on 127.0.0.1', (db) => {
  let store: Store;
  let mail: Mail;
  let inbound: RunningSmtpServer;
  let remote: Awaited<ReturnType<typeof smtpSink>>;
  let mailbox: Mailbox;
  const remoteVerdicts: AuthVerdicts[] = [];

  const sendToStrata = (message: Record<string, unknown>) =>
    createTransport({ host: '127.0.0.1', port: inbound.port, secure: false, ignoreTLS: true }).sendMail(
      message,
    );

  before(async () => {
    store = await db().open();
    remote = await smtpSink(async (m) => {
      remoteVerdicts.push(
        await verifyMessage({
          raw: m.raw,
          ip: m.remoteAddress,
          helo: m.helo,
          mailFrom: m.mailFrom,
          mta: 'mx.remote.example',
          resolver,
        }),
      );
    });
    mail = await Mail.open({
      store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.example',
      domains: ['strata.example'],
      relay: { host: '127.0.0.1', port: remote.port },
      resolver,
    });
    mailbox = await mail.createMailbox({
      tenant: 'acme',
      agent: 'agent-1',
      address: 'Agent@strata.example',
      displayName: 'Research Agent',
    });
    const dns = await mail.dnsRecords('strata.example');
    zone[`${dns.dkim.name} TXT`] = [dns.dkim.value];
    inbound = await mail.listen({ port: 0 });
  });
  after(async () => {
    await inbound.close();
    await remote.close();
    await store.close();
  });

  it('receives, replies, and the remote side sees DKIM, SPF and DMARC pass', async () => {
    const sent = await sendToStrata({
      from: 'Alice <alice@remote.example>',
      to: 'agent@strata.example',
      subject: 'Your sign-up',
      text: 'Your verification code is 482913. Or open https://remote.example/magic?token=a1b2c3d4e5f6a7b8c9d0',
      dkim: { domainName: 'remote.example', keySelector: 'rk', privateKey: remoteKey.privateKey },
      envelope: { from: 'alice@remote.example', to: ['agent@strata.example'] },
    });
    assert.deepEqual(sent.accepted, ['agent@strata.example']);

    const [received] = await mail.list({ tenant: 'acme', mailbox: mailbox.id });
    assert.ok(received);
    assert.equal(received.direction, 'in');
    assert.equal(received.from.address, 'alice@remote.example');
    assert.equal(received.subject, 'Your sign-up');
    assert.equal(received.auth?.spf.result, 'pass');
    assert.deepEqual(
      received.auth?.dkim.map((d) => [d.domain, d.result]),
      [['remote.example', 'pass']],
    );
    assert.equal(received.auth?.dmarc.result, 'pass');
    assert.equal(received.authenticated, true);
    assert.ok(received.rawHash, 'the raw message is stored by hash');

    const reply = await mail.send({
      tenant: 'acme',
      mailboxId: mailbox.id,
      to: ['alice@remote.example'],
      subject: 'Re: Your sign-up',
      text: 'Thanks, done.',
      inReplyTo: received.id,
    });
    assert.equal(reply.status, 'sent');
    assert.equal(reply.threadId, received.threadId, 'the reply joins the conversation');
    assert.equal(remote.received.length, 1);
    const delivered = remote.received[0]!;
    assert.equal(delivered.mailFrom, 'agent@strata.example');
    assert.deepEqual(delivered.rcptTo, ['alice@remote.example']);
    const head = delivered.raw.toString('utf8');
    assert.match(head, new RegExp(`^Message-ID: <${reply.messageId.replace(/[.]/g, '\\.')}>`, 'im'));
    assert.match(head, new RegExp(`^In-Reply-To: <${received.messageId.replace(/[.]/g, '\\.')}>`, 'im'));
    assert.match(head, /^From: "?Research Agent"? <agent@strata\.example>/im);

    const verdict = remoteVerdicts[0]!;
    assert.deepEqual(
      verdict.dkim.map((d) => [d.domain, d.result]),
      [['strata.example', 'pass']],
    );
    assert.equal(verdict.spf.result, 'pass');
    assert.equal(verdict.dmarc.result, 'pass');
    assert.equal(verdict.authenticated, true);

    const stored = await mail.get('acme', reply.id);
    assert.equal(stored.status, 'sent');
    assert.ok(stored.sentAt);
    const codes = await mail.extractCodes('acme', received.id);
    assert.deepEqual(
      codes.codes.map((c) => c.code),
      ['482913'],
    );
    assert.deepEqual(
      codes.links.map((l) => [l.domain, l.magic]),
      [['remote.example', true]],
    );
  });

  it('flags a spoofed sender: DMARC fails, the message is kept but unauthenticated', async () => {
    await sendToStrata({
      from: 'Bank <ceo@bank.example>',
      to: 'agent@strata.example',
      subject: 'Urgent wire transfer',
      text: 'Send money.',
      envelope: { from: 'ceo@bank.example', to: ['agent@strata.example'] },
    });
    const [spoofed] = await mail.list({ tenant: 'acme', mailbox: mailbox.id, limit: 1 });
    assert.equal(spoofed?.subject, 'Urgent wire transfer');
    assert.equal(spoofed.auth?.spf.result, 'fail');
    assert.deepEqual(
      spoofed.auth?.dkim.filter((d) => d.result === 'pass'),
      [],
    );
    assert.equal(spoofed.auth?.dmarc.result, 'fail');
    assert.equal(spoofed.auth?.dmarc.policy, 'reject');
    assert.equal(spoofed.authenticated, false);
  });

  it('counts a body changed after signing (DKIM neutral) as unauthenticated', async () => {
    const signed = remote.received[0]!.raw.toString('utf8');
    const tampered = Buffer.from(signed.replace('Thanks, done.', 'Thanks, wire the money.'));
    // Delivered from an address SPF does not cover, so only DKIM could have vouched for it.
    const [stored] = await mail.deliver(
      {
        mailFrom: 'agent@strata.example',
        recipients: ['agent@strata.example'],
        remoteAddress: '198.51.100.7',
        helo: 'x',
      },
      tampered,
    );
    assert.equal(stored?.auth?.dkim[0]?.result, 'neutral');
    assert.notEqual(stored.auth.dmarc.result, 'pass');
    assert.equal(stored.authenticated, false);
  });
});
