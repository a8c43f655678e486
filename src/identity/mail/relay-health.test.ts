// Outbound mail's health reading against real SMTP on loopback, the clock moved by hand: a relay on
// a closed port reads unhealthy after three sends in a row failed (the error code, never an
// address, in the reason); a relay answering 451 reads degraded after three deferrals, and one
// taken send makes it healthy again; recipients refused with 550 say nothing about the relay; a
// scheduled draft left unsent past due is the tenant's outbox backlog (another tenant's is not).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { closedPort } from '../../testkit/ports.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Drafts } from './drafts.ts';
import { Mail } from './mail.ts';

const masterKey = randomBytes(32);
const clock = new ManualClock(Date.parse('2026-03-01T09:00:00Z'));

/** A relay whose answer to RCPT TO is set by the test: accept, 451 (try later) or 550 (no such user). */
async function relay(): Promise<{ port: number; answer: { code: 250 | 451 | 550 }; close(): Promise<void> }> {
  const answer: { code: 250 | 451 | 550 } = { code: 250 };
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo: (_address, _session, callback) =>
      answer.code === 250
        ? callback()
        : callback(Object.assign(new Error(`refused ${answer.code}`), { responseCode: answer.code })),
    onData: (stream, _session, callback) => {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, answer, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

onEveryStore('relay health', (db) => {
  let store: Store;
  let smtp: Awaited<ReturnType<typeof relay>>;
  const mailOn = async (port: number) => {
    const mail = await Mail.open({
      store,
      masterKey,
      clock,
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port, timeoutMs: 5_000 },
      resolver: memoryResolver({}),
    });
    const box = await mail.createMailbox({
      tenant: 'acme',
      agent: `a${randomBytes(3).toString('hex')}`,
      address: `${randomBytes(4).toString('hex')}@strata.example`,
    });
    const send = () =>
      mail.send({
        tenant: 'acme',
        mailboxId: box.id,
        to: ['bob@elsewhere.example'],
        subject: 'hi',
        text: 'x',
      });
    return { mail, box, send };
  };

  before(async () => {
    store = await db().open();
    smtp = await relay();
  });
  after(async () => {
    await smtp.close();
    await store.close();
  });

  it('a relay on a closed port: unhealthy after three failed sends in a row', async () => {
    const { mail, send } = await mailOn(await closedPort());
    const health = mail.relayHealth;
    assert.ok(health);
    const since = clock.now();
    await assert.rejects(send(), withCode('E_MAIL_SEND_FAILED'));
    assert.equal(health.reading().status, 'healthy', 'one failure is not a pattern');
    clock.advance(1000);
    await assert.rejects(send(), withCode('E_MAIL_SEND_FAILED'));
    await assert.rejects(send(), withCode('E_MAIL_SEND_FAILED'));
    const reading = health.reading();
    assert.equal(reading.status, 'unhealthy');
    assert.equal(reading.id, 'mail.relay');
    assert.match(reading.name, /^SMTP relay 127\.0\.0\.1:\d+$/);
    assert.match(
      reading.reason,
      /the last 3 sends failed \(3\) or were deferred \(0\); last: ESOCKET: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    assert.equal(reading.since, since);
    assert.doesNotMatch(reading.reason, /bob@/);
  });

  it('451s read degraded, a taken send heals it; 550 on recipients says nothing about the relay', async () => {
    const { mail, send } = await mailOn(smtp.port);
    const health = mail.relayHealth;
    assert.ok(health);
    smtp.answer.code = 550;
    for (let i = 0; i < 3; i++) await assert.rejects(send(), withCode('E_MAIL_SEND_FAILED'));
    assert.equal(health.reading().status, 'healthy', 'the relay answered: the recipients were refused');
    smtp.answer.code = 451;
    for (let i = 0; i < 3; i++) await assert.rejects(send(), withCode('E_MAIL_SEND_FAILED'));
    const deferred = health.reading();
    assert.equal(deferred.status, 'degraded');
    assert.match(deferred.reason, /failed \(0\) or were deferred \(3\); last: EENVELOPE 451/);
    assert.doesNotMatch(deferred.reason, /bob@/);
    smtp.answer.code = 250;
    await send();
    assert.equal(health.reading().status, 'healthy');
  });

  it('a scheduled draft unsent past due is the tenant’s backlog, degraded after five minutes', async () => {
    const { mail, box } = await mailOn(smtp.port);
    const health = mail.relayHealth;
    assert.ok(health);
    const drafts = await Drafts.open({ mail, clock });
    const draft = await drafts.create('acme', {
      mailbox: box.id,
      to: ['bob@elsewhere.example'],
      subject: 'later',
    });
    const due = clock.now();
    await drafts.schedule('acme', draft.id, due); // no sweeper runs here: it stays scheduled
    assert.equal((await health.read(store, 'acme')).status, 'healthy', 'due just now');
    clock.advance(6 * 60_000);
    const backlog = await health.read(store, 'acme');
    assert.equal(backlog.status, 'degraded');
    assert.match(backlog.reason, /^1 outgoing messages waiting over 5 min$/);
    assert.equal(backlog.since, due);
    assert.equal((await health.read(store, 'other')).status, 'healthy', 'another tenant’s outbox is its own');
  });
});
