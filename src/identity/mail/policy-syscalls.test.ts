/**
 * The mail policy syscalls through the kernel pipeline: lists, caps, suppressions, bounces and
 * automatic messages, each scoped to the caller's tenant; malformed input refused with a stable code
 * and nothing stored; `mail.send` refused by the policy with its own code.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Kernel, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openPolicyHarness, type PolicyHarness } from './policy-harness.ts';
import { policySyscalls } from './policy-syscalls.ts';
import { mailSyscalls } from './syscalls.ts';
import { randomBytes } from 'node:crypto';
import { principalInNewTenant } from '../../testkit/principals.ts';

onEveryStore('mail policy syscalls through the kernel pipeline', (db) => {
  let h: PolicyHarness;
  let kernel: Kernel;
  let acme: Principal;
  let globex: Principal;
  const principalIn = (name: string): Promise<Principal> =>
    principalInNewTenant(kernel, name, [{ syscall: 'mail.*', resource: '*' }]);
  const call = <T>(name: string, input: unknown, principal = acme): Promise<T> =>
    kernel.call<T>(name, input, { principal });

  before(async () => {
    h = await openPolicyHarness(db());
    kernel = await Kernel.open({ store: h.store, masterKey: randomBytes(32) });
    for (const definition of [...mailSyscalls(h.mail), ...policySyscalls(h.mail, h.policy)]) {
      kernel.register(definition);
    }
    acme = await principalIn('acme');
    globex = await principalIn('globex');
    await call('mail.mailboxes.create', { agent: 'sales', address: 'sales@strata.example' });
  });
  after(async () => {
    await kernel.drain(1000);
    await h.close();
  });

  it('adds, lists and removes list entries; refuses bad input with stable codes, storing nothing', async () => {
    const added = await call<{ entry: string; direction: string }>('mail.lists.add', {
      mailbox: 'sales@strata.example',
      entry: '@Competitor.example',
      kind: 'block',
    });
    assert.deepEqual([added.entry, added.direction], ['@competitor.example', 'both']);
    for (const [input, code] of [
      [
        { mailbox: 'sales@strata.example', entry: 'Eve <eve@x.example>', kind: 'block' },
        'E_MAIL_ADDRESS_INVALID',
      ],
      [{ mailbox: 'sales@strata.example', entry: 'eve@x.example', kind: 'maybe' }, 'E_INVALID_INPUT'],
      [
        { mailbox: 'sales@strata.example', entry: 'eve@x.example', kind: 'block', extra: 1 },
        'E_INVALID_INPUT',
      ],
      [{ mailbox: 'nobody@strata.example', entry: 'eve@x.example', kind: 'block' }, 'E_NOT_FOUND'],
    ] as const) {
      await assert.rejects(call('mail.lists.add', input), withCode(code), JSON.stringify(input));
    }
    await assert.rejects(
      call(
        'mail.lists.add',
        { mailbox: 'sales@strata.example', entry: 'eve@x.example', kind: 'block' },
        globex,
      ),
      withCode('E_NOT_FOUND'),
      'another tenant cannot touch the mailbox',
    );
    const listed = await call<{ entries: { entry: string }[] }>('mail.lists.list', {
      mailbox: 'sales@strata.example',
    });
    assert.deepEqual(
      listed.entries.map((e) => e.entry),
      ['@competitor.example'],
    );
    await assert.rejects(
      call('mail.send', {
        mailbox: 'sales@strata.example',
        to: 'ceo@competitor.example',
        subject: 's',
        text: 't',
      }),
      withCode('E_MAIL_BLOCKED'),
    );
    const removed = await call<{ removed: boolean }>('mail.lists.remove', {
      mailbox: 'sales@strata.example',
      entry: '@competitor.example',
      kind: 'block',
    });
    assert.equal(removed.removed, true);
  });

  it('sets and reads send caps, the tenant default included', async () => {
    await call('mail.caps.set', { limit: 10, windowMs: 60_000 });
    const byDefault = await call<{ cap: { source: string; limit: number } | null }>('mail.caps.get', {
      mailbox: 'sales@strata.example',
    });
    assert.deepEqual([byDefault.cap?.source, byDefault.cap?.limit], ['tenant', 10]);
    await call('mail.caps.set', { mailbox: 'sales@strata.example', limit: 1, windowMs: 60_000 });
    await call('mail.send', {
      mailbox: 'sales@strata.example',
      to: 'lead@remote.example',
      subject: 's',
      text: 't',
    });
    const used = await call<{ cap: { source: string } | null; sentInWindow: number }>('mail.caps.get', {
      mailbox: 'sales@strata.example',
    });
    assert.deepEqual([used.cap?.source, used.sentInWindow], ['mailbox', 1]);
    await assert.rejects(
      call('mail.send', {
        mailbox: 'sales@strata.example',
        to: 'lead@remote.example',
        subject: 's',
        text: 't',
      }),
      withCode('E_MAIL_SEND_CAP'),
    );
    await assert.rejects(call('mail.caps.set', { limit: -1 }), withCode('E_INVALID_INPUT'));
    await call('mail.caps.set', { mailbox: 'sales@strata.example', limit: null });
    await call('mail.caps.set', { limit: null });
    const none = await call<{ cap: unknown }>('mail.caps.get', { mailbox: 'sales@strata.example' });
    assert.equal(none.cap, null);
  });

  it('lists, adds and removes suppressions per tenant; a suppressed address cannot be mailed', async () => {
    await call('mail.suppressions.add', { address: 'Gone@remote.example' });
    await assert.rejects(
      call('mail.suppressions.add', { address: 'not an address' }),
      withCode('E_MAIL_ADDRESS_INVALID'),
    );
    const listed = await call<{ suppressions: { address: string; reason: string }[] }>(
      'mail.suppressions.list',
      {},
    );
    assert.deepEqual(
      listed.suppressions.map((s) => [s.address, s.reason]),
      [['gone@remote.example', 'manual']],
    );
    const other = await call<{ suppressions: unknown[] }>('mail.suppressions.list', {}, globex);
    assert.equal(other.suppressions.length, 0);
    await assert.rejects(
      call('mail.send', {
        mailbox: 'sales@strata.example',
        to: 'gone@remote.example',
        subject: 's',
        text: 't',
      }),
      withCode('E_MAIL_SUPPRESSED'),
    );
    assert.deepEqual(await call('mail.suppressions.remove', { address: 'gone@remote.example' }, globex), {
      removed: false,
    });
    assert.deepEqual(await call('mail.suppressions.remove', { address: 'gone@remote.example' }), {
      removed: true,
    });
    await call('mail.send', {
      mailbox: 'sales@strata.example',
      to: 'gone@remote.example',
      subject: 's',
      text: 't',
    });
  });

  it('exposes automatic messages and bounces of a mailbox', async () => {
    await h.sendIn({
      from: 'away@remote.example',
      to: 'sales@strata.example',
      subject: 'Out of office',
      text: 'x',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    const auto = await call<{ messages: { sender: string; reason: string }[]; storms: unknown[] }>(
      'mail.auto_submitted.list',
      { mailbox: 'sales@strata.example' },
    );
    assert.deepEqual(
      auto.messages.map((m) => [m.sender, m.reason]),
      [['away@remote.example', 'auto-submitted: auto-replied']],
    );
    assert.deepEqual(auto.storms, []);
    const bounces = await call<{ bounces: unknown[] }>('mail.bounces.list', {
      mailbox: 'sales@strata.example',
    });
    assert.deepEqual(bounces.bounces, []);
    await assert.rejects(
      call('mail.bounces.list', { mailbox: 'sales@strata.example' }, globex),
      withCode('E_NOT_FOUND'),
    );
  });
});
