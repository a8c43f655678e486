/**
 * Delivery status notifications, from a recorded Postfix bounce (test/fixtures/mail-dsn): parsed
 * fields; over real SMTP (null sender), a 5.x.x report on a message the mailbox sent records a hard
 * bounce and suppresses the recipient (sending to it is refused until an operator removes it); a
 * 4.x.x report is recorded as soft only; a report naming no message of ours, or someone we did not
 * write to, changes nothing; and a burst of reports is not mistaken for an auto-reply storm.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { isDeliveryReport, parseDeliveryStatus, readDeliveryReport } from './dsn.ts';
import { openPolicyHarness, type PolicyHarness } from './policy-harness.ts';
import type { Mailbox } from './repo.ts';
import { listSuppressions, unsuppress } from './suppressions.ts';

const FIXTURE = readFileSync(
  join(import.meta.dirname, '../../../test/fixtures/mail-dsn/postfix-hard-bounce.eml'),
);
const FIXTURE_ID = 'm_01kjw3z8v5q0d6y7x2h4t9n1@strata.example';

/** The recorded bounce about `messageId`, optionally rewritten (a soft bounce, another recipient). */
const bounceFor = (messageId: string, edit: (text: string) => string = (t) => t): Buffer =>
  Buffer.from(edit(FIXTURE.toString('latin1').replace(FIXTURE_ID, messageId)), 'latin1');

describe('delivery status notification parsing', () => {
  it('reads the recorded Postfix bounce: recipient, action, status, diagnostic, original Message-ID', async () => {
    assert.ok(isDeliveryReport(await simpleParser(FIXTURE)));
    assert.deepEqual(await readDeliveryReport(FIXTURE), {
      originalMessageId: FIXTURE_ID,
      recipients: [
        {
          finalRecipient: 'nobody@remote.example',
          originalRecipient: 'nobody@remote.example',
          action: 'failed',
          status: '5.1.1',
          diagnostic:
            '550 5.1.1 <nobody@remote.example>: Recipient address rejected: User unknown in virtual mailbox table',
        },
      ],
    });
  });

  it('reads several recipient blocks and ignores malformed statuses and non-rfc822 addresses', () => {
    const body = [
      'Reporting-MTA: dns; mx.example',
      '',
      'Final-Recipient: rfc822; <A@X.example>',
      'Action: delayed',
      'Status: 4.4.1',
      '',
      'Final-Recipient: x400; whatever',
      'Action: failed',
      'Status: five',
      '',
    ].join('\r\n');
    assert.deepEqual(
      parseDeliveryStatus(body).map((r) => [r.finalRecipient, r.action, r.status]),
      [
        ['a@x.example', 'delayed', '4.4.1'],
        [null, 'failed', null],
      ],
    );
  });
});

onEveryStore('delivery status notifications', (db) => {
  let h: PolicyHarness;
  let box: Mailbox;
  const send = (to: string[]) =>
    h.mail.send({ tenant: 'acme', mailboxId: box.id, to, subject: 'Your invoice', text: 't' });
  /** Delivers a report over SMTP with the null envelope sender, as a remote MTA does. */
  const report = (raw: Buffer) => h.sendIn({ envelope: { from: '', to: [box.address] }, raw });
  const bounces = () =>
    h.store.all<{ message_id: string; recipient: string; status: string; kind: string; diagnostic: string }>(
      'SELECT message_id, recipient, status, kind, diagnostic FROM mail_bounces WHERE mailbox_id = ? ORDER BY id',
      [box.id],
    );

  before(async () => {
    h = await openPolicyHarness(db());
    box = await h.mailbox('agent@strata.example');
  });
  after(() => h.close());

  it('records a hard bounce, suppresses the recipient, refuses sending to it until removed', async () => {
    const sent = await send(['nobody@remote.example', 'other@remote.example']);
    await report(bounceFor(sent.messageId));
    const [bounce, ...more] = await bounces();
    assert.equal(more.length, 0);
    assert.equal(bounce?.message_id, sent.id);
    assert.equal(bounce?.recipient, 'nobody@remote.example');
    assert.equal(bounce?.status, '5.1.1');
    assert.equal(bounce?.kind, 'hard');
    assert.match(bounce?.diagnostic ?? '', /User unknown/);
    const [suppressed] = await listSuppressions(h.store, 'acme', { limit: 10 });
    assert.equal(suppressed?.address, 'nobody@remote.example');
    assert.equal(suppressed?.reason, 'hard-bounce');
    assert.equal(
      await h.count('mail_auto_submitted', 'mailbox_id = ?', [box.id]),
      1,
      'the report is labelled automatic',
    );

    const relayed = h.sink.received.length;
    const rows = await h.count('mail_messages');
    await assert.rejects(send(['other@remote.example', 'nobody@remote.example']), (error: unknown) => {
      assert.ok(withCode('E_MAIL_SUPPRESSED')(error));
      assert.equal((error as { data: { address: string } }).data.address, 'nobody@remote.example');
      return true;
    });
    assert.equal(await h.count('mail_messages'), rows);
    assert.equal(h.sink.received.length, relayed);
    await send(['other@remote.example']);
    assert.equal(
      await listSuppressions(h.store, 'globex', { limit: 10 }).then((l) => l.length),
      0,
      'per tenant',
    );

    assert.equal(await unsuppress(h.store, 'acme', 'Nobody@remote.example'), true);
    await send(['nobody@remote.example']);
    assert.equal(h.sink.received.length, relayed + 2);
  });

  it('records a 4.x.x report as a soft bounce without suppressing', async () => {
    const sent = await send(['slow@remote.example']);
    const soft = (t: string) =>
      t
        .replaceAll('nobody@remote.example', 'slow@remote.example')
        .replace('Action: failed', 'Action: delayed')
        .replace('Status: 5.1.1', 'Status: 4.4.1');
    await report(bounceFor(sent.messageId, soft));
    const last = (await bounces()).at(-1);
    assert.deepEqual([last?.recipient, last?.status, last?.kind], ['slow@remote.example', '4.4.1', 'soft']);
    const suppressed = await listSuppressions(h.store, 'acme', { limit: 10 });
    assert.ok(!suppressed.some((s) => s.address === 'slow@remote.example'));
  });

  it('ignores a report naming no message of ours, or a recipient the message did not go to', async () => {
    const before = await bounces();
    const sent = await send(['real@remote.example']);
    await report(bounceFor('forged-id@elsewhere.example'));
    await report(
      bounceFor(sent.messageId, (t) => t.replaceAll('nobody@remote.example', 'ceo@remote.example')),
    );
    assert.deepEqual(await bounces(), before);
    const suppressed = await listSuppressions(h.store, 'acme', { limit: 10 });
    assert.ok(!suppressed.some((s) => s.address === 'ceo@remote.example'));
  });

  it('accepts a burst of reports beyond the auto-reply storm threshold', async () => {
    const sent = await send(Array.from({ length: 8 }, (_, i) => `gone${i}@remote.example`));
    for (let i = 0; i < 8; i++) {
      await report(
        bounceFor(sent.messageId, (t) => t.replaceAll('nobody@remote.example', `gone${i}@remote.example`)),
      );
    }
    assert.equal(await h.count('mail_bounces', 'message_id = ?', [sent.id]), 8);
    assert.equal(await h.count('mail_suppressions', "address LIKE 'gone%'"), 8);
  });
});
