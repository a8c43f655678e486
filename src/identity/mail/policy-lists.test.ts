/**
 * Allow and block lists over real SMTP: a blocked sender (From header or envelope) gets 550 5.7.1
 * and nothing is stored for that mailbox while another recipient still gets its copy; an allow list
 * lets only its senders in; outbound, a blocked or unlisted recipient is refused before the relay
 * sees anything. Bad entries are refused with E_MAIL_ADDRESS_INVALID and store nothing.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openPolicyHarness, type PolicyHarness } from './policy-harness.ts';
import { addEntry, listEntries, removeEntry } from './policy-lists.ts';
import type { Mailbox } from './repo.ts';

onEveryStore('mail allow and block lists', (db) => {
  let h: PolicyHarness;
  let guarded: Mailbox;
  let open: Mailbox;
  let strict: Mailbox;
  const add = (
    box: Mailbox,
    entry: string,
    kind: 'allow' | 'block',
    direction: 'inbound' | 'outbound' | 'both',
  ) => addEntry(h.store, { tenant: 'acme', mailboxId: box.id, entry, kind, direction, now: Date.now() });
  const stored = (box: Mailbox) => h.count('mail_messages', 'mailbox_id = ?', [box.id]);

  before(async () => {
    h = await openPolicyHarness(db());
    guarded = await h.mailbox('guarded@strata.example');
    open = await h.mailbox('open@strata.example');
    strict = await h.mailbox('strict@strata.example');
    await add(guarded, 'spammer@bad.example', 'block', 'inbound');
    await add(guarded, '@junk.example', 'block', 'both');
    await add(guarded, 'victim@partner.example', 'block', 'outbound');
    await add(strict, '@partner.example', 'allow', 'inbound');
    await add(strict, 'boss@strata.example', 'allow', 'both');
  });
  after(() => h.close());

  it('refuses a blocked From address with 550 and stores nothing', async () => {
    const code = await h.refusedIn({
      from: 'spammer@bad.example',
      to: guarded.address,
      subject: 'buy now',
      text: 'x',
    });
    assert.equal(code, 550);
    assert.equal(await stored(guarded), 0);
  });

  it('refuses a blocked envelope sender behind an innocent From, and a blocked domain', async () => {
    const spoofed = { from: 'friend@ok.example', to: guarded.address, subject: 'hi', text: 'x' };
    assert.equal(
      await h.refusedIn({ ...spoofed, envelope: { from: 'bounce@junk.example', to: [guarded.address] } }),
      550,
    );
    assert.equal(await h.refusedIn({ ...spoofed, from: 'anyone@junk.example' }), 550);
    assert.equal(await stored(guarded), 0);
    await h.sendIn(spoofed);
    assert.equal(await stored(guarded), 1, 'a sender on no list is delivered');
  });

  it('stores the message for the mailbox that does not block when only one of two does', async () => {
    const info = await h.sendIn({
      from: 'spammer@bad.example',
      to: [guarded.address, open.address],
      subject: 'two recipients',
      text: 'x',
    });
    assert.equal(info.accepted.length, 2);
    assert.equal(await stored(open), 1);
    assert.equal(await stored(guarded), 1, 'only the earlier unblocked message');
  });

  it('lets only allow-listed senders into a mailbox with an inbound allow list', async () => {
    await h.sendIn({ from: 'ceo@partner.example', to: strict.address, subject: 'ok', text: 'x' });
    await h.sendIn({ from: 'boss@strata.example', to: strict.address, subject: 'ok', text: 'x' });
    assert.equal(
      await h.refusedIn({ from: 'stranger@else.example', to: strict.address, subject: 'no', text: 'x' }),
      550,
    );
    assert.equal(
      await h.refusedIn({
        from: 'ceo@partner.example',
        to: strict.address,
        subject: 'envelope not allowed',
        text: 'x',
        envelope: { from: 'ceo@partner.example.evil.example', to: [strict.address] },
      }),
      550,
      'the domain entry matches that domain only, and the envelope sender must pass too',
    );
    assert.equal(await stored(strict), 2);
  });

  it('refuses a blocked or unlisted recipient on send, naming it; nothing is stored or relayed', async () => {
    const sent = h.sink.received.length;
    const outbound = async (box: Mailbox, to: string[]) =>
      h.mail.send({ tenant: 'acme', mailboxId: box.id, to, subject: 's', text: 't' });
    for (const [box, to, address, rule] of [
      [guarded, ['ok@else.example', 'victim@partner.example'], 'victim@partner.example', 'block'],
      [guarded, ['someone@junk.example'], 'someone@junk.example', 'block'],
      [strict, ['ceo@partner.example'], 'ceo@partner.example', 'not-allowed'],
    ] as const) {
      const before = await stored(box);
      await assert.rejects(outbound(box, [...to]), (error: unknown) => {
        assert.ok(withCode('E_MAIL_BLOCKED')(error));
        const data = (error as { data: { address: string; rule: string } }).data;
        assert.equal(data.address, address);
        assert.equal(data.rule, rule);
        assert.match((error as Error).message, new RegExp(address.replace('.', '\\.')));
        return true;
      });
      assert.equal(await stored(box), before);
    }
    assert.equal(h.sink.received.length, sent);
    await outbound(strict, ['boss@strata.example']);
    await outbound(guarded, ['victim@else.example']);
    assert.equal(h.sink.received.length, sent + 2);
  });

  it('refuses malformed entries with E_MAIL_ADDRESS_INVALID and stores nothing; removes entries', async () => {
    const before = await h.count('mail_policy_lists');
    for (const entry of [
      'Bob <bob@x.example>',
      '@',
      '@localhost',
      'a@x.example, b@y.example',
      'x@bad\r\nBcc: y@z.example',
    ]) {
      await assert.rejects(add(open, entry, 'block', 'both'), withCode('E_MAIL_ADDRESS_INVALID'), entry);
    }
    assert.equal(await h.count('mail_policy_lists'), before);
    const entry = await add(open, 'Someone@Example.COM', 'block', 'both');
    assert.equal(entry.entry, 'someone@example.com');
    await add(open, 'someone@example.com', 'block', 'both');
    assert.equal((await listEntries(h.store, open.id)).length, 1, 'adding twice keeps one entry');
    const remove = () =>
      removeEntry(h.store, {
        mailboxId: open.id,
        entry: 'SOMEONE@example.com',
        kind: 'block',
        direction: 'both',
      });
    assert.equal(await remove(), true);
    assert.equal(await remove(), false, 'nothing left to remove');
  });
});
