/**
 * Send caps through the relay (an SMTP sink): the cap counts stored outbound messages in a sliding
 * window, answers E_MAIL_SEND_CAP with the exact retryAfterMs, gives a failed send's slot back,
 * falls back to the tenant default, and holds under concurrent sends (exactly `limit` pass).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock, isStrataError } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openPolicyHarness, type PolicyHarness } from './policy-harness.ts';
import { TENANT_DEFAULT } from './policy-migrations.ts';
import type { MailExtension } from './extensions.ts';
import type { Mailbox } from './repo.ts';
import { effectiveCap, setCap } from './send-caps.ts';

onEveryStore('mail send caps', (db) => {
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  let h: PolicyHarness;
  const send = (box: Mailbox, subject = 's') =>
    h.mail.send({ tenant: 'acme', mailboxId: box.id, to: ['peer@remote.example'], subject, text: 't' });
  const cap = (mailboxId: string, limit: number, windowMs: number) =>
    setCap(h.store, { tenant: 'acme', mailboxId, cap: { limit, windowMs }, now: clock.now() });
  const outbound = (box: Mailbox) =>
    h.count('mail_messages', "mailbox_id = ? AND direction = 'out'", [box.id]);

  // Holds each outbound transaction, after its row is inserted and before the policy counts, until
  // the whole burst has arrived or 100 ms passed, so every send passes the unlocked pre-check and
  // only the count inside the transaction, under the mailbox lock, can keep the cap exact.
  let burst = 0;
  const waiting: (() => void)[] = [];
  const barrier: MailExtension = {
    name: 'barrier',
    onStored: (_tx, _message, facts) =>
      facts || burst === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length >= burst) for (const release of waiting.splice(0)) release();
            setTimeout(resolve, 100);
          }),
  };

  before(async () => {
    h = await openPolicyHarness(db(), { clock, before: [barrier] });
  });
  after(() => h.close());

  it('refuses the send over the cap with the time until a slot frees, then sends again', async () => {
    const box = await h.mailbox('capped@strata.example');
    await cap(box.id, 3, 60_000);
    for (let i = 0; i < 3; i++) {
      await send(box);
      clock.advance(10_000);
    }
    const relayed = h.sink.received.length;
    await assert.rejects(send(box), (error: unknown) => {
      assert.ok(withCode('E_MAIL_SEND_CAP')(error));
      assert.deepEqual((error as { data: unknown }).data, {
        limit: 3,
        windowMs: 60_000,
        retryAfterMs: 30_000,
        source: 'mailbox',
      });
      return true;
    });
    assert.equal(await outbound(box), 3);
    assert.equal(h.sink.received.length, relayed, 'nothing reached the relay');
    clock.advance(29_999);
    await assert.rejects(send(box), withCode('E_MAIL_SEND_CAP'));
    clock.advance(1);
    await send(box);
    assert.equal(await outbound(box), 4);
  });

  it('gives a failed send its slot back', async () => {
    const box = await h.mailbox('retry@strata.example');
    await cap(box.id, 1, 60_000);
    const first = await send(box);
    await assert.rejects(send(box), withCode('E_MAIL_SEND_CAP'));
    await h.store.run("UPDATE mail_messages SET status = 'failed' WHERE id = ?", [first.id]);
    await send(box);
  });

  it('falls back to the tenant default; a mailbox cap overrides it; no cap without either', async () => {
    const box = await h.mailbox('default@strata.example');
    assert.equal(await effectiveCap(h.store, 'acme', box.id), undefined);
    await cap(TENANT_DEFAULT, 1, 3_600_000);
    await send(box);
    await assert.rejects(
      send(box),
      (error: unknown) =>
        withCode('E_MAIL_SEND_CAP')(error) &&
        (error as { data: { source: string } }).data.source === 'tenant',
    );
    await cap(box.id, 2, 3_600_000);
    await send(box);
    await setCap(h.store, { tenant: 'acme', mailboxId: TENANT_DEFAULT, cap: null, now: clock.now() });
    assert.equal(await effectiveCap(h.store, 'globex', box.id), undefined, 'caps are per tenant');
  });

  it('lets exactly `limit` of many concurrent sends through (the mailbox lock serialises the count)', async () => {
    const box = await h.mailbox('burst@strata.example');
    await cap(box.id, 4, 3_600_000);
    const relayed = h.sink.received.length;
    burst = 12;
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => send(box, `burst ${i}`)));
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter(
      (r) => r.status === 'rejected' && isStrataError(r.reason) && r.reason.code === 'E_MAIL_SEND_CAP',
    );
    burst = 0;
    assert.equal(passed, 4);
    assert.equal(refused.length, 8);
    assert.equal(await outbound(box), 4);
    assert.equal(h.sink.received.length, relayed + 4);
  });

  it('refuses a malformed cap with E_INVALID_INPUT and stores nothing', async () => {
    const box = await h.mailbox('badcap@strata.example');
    for (const [limit, windowMs] of [
      [-1, 60_000],
      [1.5, 60_000],
      [1, 10],
      [1, 40 * 24 * 3_600_000],
    ] as const) {
      await assert.rejects(cap(box.id, limit, windowMs), withCode('E_INVALID_INPUT'));
    }
    assert.equal(await effectiveCap(h.store, 'acme', box.id), undefined);
  });
});
