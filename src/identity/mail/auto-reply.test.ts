/**
 * Auto-reply loops over real SMTP: which messages are labelled automatic (RFC 3834 headers, the de
 * facto ones, the null sender), the storm threshold (the 6th automatic message from one sender in
 * the window gets 554 and is counted; other senders and ordinary mail still pass; the window
 * moves), and the refusal of an outbound reply to an automatic message.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openPolicyHarness, type PolicyHarness } from './policy-harness.ts';
import { listAutoSubmitted, listLoopRefusals } from './policy-reports.ts';
import type { Mailbox } from './repo.ts';

onEveryStore('auto-reply loop detection', (db) => {
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  let h: PolicyHarness;
  let box: Mailbox;
  const message = (from: string, subject: string, headers: Record<string, unknown> = {}) => ({
    from,
    to: box.address,
    subject,
    text: 'x',
    headers,
  });
  const labels = async () =>
    new Map((await listAutoSubmitted(h.store, box.id, 100)).map((a) => [a.messageId, a.reason]));

  before(async () => {
    h = await openPolicyHarness(db(), { clock, loop: { threshold: 5, windowMs: 600_000 } });
    box = await h.mailbox('helpdesk@strata.example');
  });
  after(() => h.close());

  it('labels automatic messages by header or null sender, and nothing else', async () => {
    const cases: [Record<string, unknown>, string | undefined][] = [
      [
        message('a@one.example', 'ooo', {
          'Auto-Submitted': { prepared: true, value: 'auto-replied; owner-email="a@one.example"' },
        }),
        'auto-submitted: auto-replied',
      ],
      [
        message('b@one.example', 'gen', { 'Auto-Submitted': 'auto-generated' }),
        'auto-submitted: auto-generated',
      ],
      [message('c@one.example', 'human', { 'Auto-Submitted': 'no' }), undefined],
      [message('k@one.example', 'odd', { 'Auto-Submitted': 'Someday "maybe"' }), 'auto-submitted: other'],
      [message('d@one.example', 'x1', { 'X-Autoreply': 'yes' }), 'x-autoreply'],
      [message('e@one.example', 'x2', { 'X-Autorespond': 'on' }), 'x-autorespond'],
      [message('f@one.example', 'news', { Precedence: 'bulk' }), 'precedence: bulk'],
      [message('g@one.example', 'junk', { Precedence: 'junk' }), 'precedence: junk'],
      [message('h@one.example', 'vac', { Precedence: 'auto_reply' }), 'precedence: auto_reply'],
      [message('i@one.example', 'list', { Precedence: 'list' }), undefined],
      [
        { ...message('j@one.example', 'nullsender'), envelope: { from: '', to: [box.address] } },
        'null-sender',
      ],
    ];
    for (const [input, reason] of cases) {
      await h.sendIn(input);
      const [latest] = await h.mail.list({ tenant: 'acme', mailbox: box.id, limit: 1 });
      assert.equal((await labels()).get(latest?.id ?? ''), reason, String(input['subject']));
    }
  });

  it('refuses the automatic messages of one sender past the threshold with 554, counting them', async () => {
    const bot = 'bot@loop.example';
    const auto = (i: number) => message(bot, `Re: ticket ${i}`, { 'Auto-Submitted': 'auto-replied' });
    for (let i = 0; i < 5; i++) {
      await h.sendIn(auto(i));
      clock.advance(1000);
    }
    const stored = await h.count('mail_messages', 'from_addr = ?', [bot]);
    assert.equal(await h.refusedIn(auto(5)), 554);
    assert.equal(await h.refusedIn(auto(6)), 554);
    assert.equal(
      await h.count('mail_messages', 'from_addr = ?', [bot]),
      stored,
      'refused copies are not stored',
    );
    assert.deepEqual(
      (await listLoopRefusals(h.store, box.id)).map((r) => [r.sender, r.refused]),
      [[bot, 2]],
    );
    await h.sendIn(message(bot, 'a person typing from the same address'));
    await h.sendIn(message('other-bot@loop.example', 'auto', { 'X-Autoreply': 'yes' }));
    clock.advance(600_000);
    await h.sendIn(auto(7));
    assert.equal(await h.count('mail_messages', 'from_addr = ?', [bot]), stored + 2, 'the window moved on');
  });

  it('refuses to reply to an automatic message, saying agents must not; a reply to a person goes out', async () => {
    await h.sendIn(message('away@one.example', 'Out of office', { 'Auto-Submitted': 'auto-replied' }));
    const [automatic] = await h.mail.list({ tenant: 'acme', mailbox: box.id, limit: 1 });
    await h.sendIn(message('person@one.example', 'A question'));
    const [human] = await h.mail.list({ tenant: 'acme', mailbox: box.id, limit: 1 });
    assert.ok(automatic && human);
    const rows = await h.count('mail_messages');
    const relayed = h.sink.received.length;
    const reply = (to: string, inReplyTo: string) =>
      h.mail.send({ tenant: 'acme', mailboxId: box.id, to: [to], subject: 'Re', text: 'thanks', inReplyTo });
    await assert.rejects(reply('away@one.example', automatic.id), (error: unknown) => {
      assert.ok(withCode('E_MAIL_LOOP')(error));
      assert.match((error as Error).message, /must not answer automatic replies/);
      assert.equal((error as { data: { inReplyTo: string } }).data.inReplyTo, automatic.id);
      return true;
    });
    assert.equal(await h.count('mail_messages'), rows);
    assert.equal(h.sink.received.length, relayed);
    await reply('person@one.example', human.id);
    assert.equal(h.sink.received.length, relayed + 1);
  });
});
