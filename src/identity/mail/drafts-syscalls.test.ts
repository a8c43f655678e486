/**
 * Approval before send through the kernel pipeline, on both engines, with a real relay: an agent's
 * `mail.send` on a mailbox requiring approval becomes a pending draft (nothing relayed); the agent
 * cannot approve it nor switch the setting off; an operator approves (one message relayed, the
 * waiting agent sees it sent) or rejects with a reason; the decisions are in the audit log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Drafts } from './drafts.ts';
import { approvalHold, draftSyscalls } from './drafts-syscalls.ts';
import { Mail } from './mail.ts';
import { mailSyscalls } from './syscalls.ts';
import { smtpSink } from './testing.ts';

type DraftOut = { id: string; status: string; messageId: string | null; reason: string | null };
const BOX = 'assistant@strata.example';

onEveryStore('mail approval before send through the kernel', (db) => {
  let store: Store;
  let kernel: Kernel;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let operator: Principal;
  let agent: Principal;
  const call = <T>(principal: Principal, name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal });
  const relayedWith = (subject: string) =>
    sink.received.filter((m) => m.raw.toString('utf8').includes(`Subject: ${subject}`));

  before(async () => {
    store = await db().open();
    const masterKey = randomBytes(32);
    sink = await smtpSink();
    kernel = await Kernel.open({ store, masterKey });
    const mail = await Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    const drafts = await Drafts.open({ mail });
    for (const definition of [
      ...mailSyscalls(mail, { holdSend: approvalHold(drafts) }),
      ...draftSyscalls(drafts),
    ])
      kernel.register(definition);
    const tenant = await kernel.principals.createTenant('acme');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'operator',
      grants: [{ syscall: 'mail.*', resource: '*' }],
    });
    operator = await kernel.authenticate({ apiKey: key });
    const bot = await kernel.principals.createAgent({ tenantId: tenant.id, name: 'assistant' });
    const { token } = await kernel.authority.issue({
      tenantId: tenant.id,
      subject: bot.id,
      // Its mailbox and drafts (approve included, so the four-eyes rule is what stops it), not settings.
      grants: [
        { syscall: 'mail.*', resource: 'mail/mailboxes/*' },
        { syscall: 'mail.drafts.*', resource: 'mail/drafts/*' },
      ],
      ttlSeconds: 600,
    });
    agent = await kernel.authenticate({ token });
    await call(operator, 'mail.mailboxes.create', { agent: bot.id, address: BOX });
    await call(operator, 'mail.settings.set', { mailbox: BOX, approvalRequired: true });
  });
  after(async () => {
    await sink.close();
    await kernel.close(1000);
  });

  const held = (subject: string) =>
    call<DraftOut>(agent, 'mail.send', {
      mailbox: BOX,
      to: 'client@remote.example',
      subject,
      text: 'Proposal.',
    });

  it('holds an agent’s send; the agent cannot approve it or switch approval off; an operator approves', async () => {
    const draft = await held('Proposal for approval');
    assert.match(draft.id, /^drf_/);
    assert.equal(draft.status, 'pending_approval');
    assert.equal(relayedWith('Proposal for approval').length, 0, 'nothing relayed before approval');
    await assert.rejects(
      call(agent, 'mail.drafts.approve', { id: draft.id }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(
      call(agent, 'mail.settings.set', { mailbox: BOX, approvalRequired: false }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(call(agent, 'mail.drafts.send', { id: draft.id }), withCode('E_CONFLICT'));
    await assert.rejects(
      call(agent, 'mail.drafts.update', { id: draft.id, text: 'sneaky' }),
      withCode('E_CONFLICT'),
    );

    const waiting = call<DraftOut>(agent, 'mail.drafts.wait', { id: draft.id, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    const approved = await call<DraftOut>(operator, 'mail.drafts.approve', { id: draft.id });
    assert.equal(approved.status, 'sent');
    const seen = await waiting;
    assert.deepEqual([seen.status, seen.messageId], ['sent', approved.messageId]);
    assert.equal(relayedWith('Proposal for approval').length, 1);
    await assert.rejects(call(operator, 'mail.drafts.approve', { id: draft.id }), withCode('E_CONFLICT'));
    assert.equal(relayedWith('Proposal for approval').length, 1, 'approving twice sends once');
  });

  it('a rejection carries its reason to the waiting agent and sends nothing', async () => {
    const draft = await held('Discount offer');
    const waiting = call<DraftOut>(agent, 'mail.drafts.wait', { id: draft.id, timeoutMs: 10_000 });
    await call(operator, 'mail.drafts.reject', { id: draft.id, reason: 'No discounts this quarter.' });
    const seen = await waiting;
    assert.deepEqual([seen.status, seen.reason], ['rejected', 'No discounts this quarter.']);
    await assert.rejects(call(operator, 'mail.drafts.approve', { id: draft.id }), withCode('E_CONFLICT'));
    assert.equal(relayedWith('Discount offer').length, 0);
    await assert.rejects(
      call(agent, 'mail.drafts.wait', { id: (await held('Still pending')).id, timeoutMs: 50 }),
      withCode('E_WAIT_TIMEOUT'),
    );
  });

  it('an operator’s own send is not held; with approval off the agent sends directly', async () => {
    const direct = await call<{ status: string }>(operator, 'mail.send', {
      mailbox: BOX,
      to: 'client@remote.example',
      subject: 'Operator note',
      text: 'Hi.',
    });
    assert.equal(direct.status, 'sent');
    await call(operator, 'mail.settings.set', { mailbox: BOX, approvalRequired: false });
    assert.equal((await held('Unheld')).status, 'sent');
    assert.equal(relayedWith('Unheld').length, 1);
    await call(operator, 'mail.settings.set', { mailbox: BOX, approvalRequired: true });
  });

  it('request_approval works for any caller, never self-approved; drafts schedule through syscalls', async () => {
    const asked = await call<DraftOut>(operator, 'mail.drafts.request_approval', {
      mailbox: BOX,
      to: ['client@remote.example'],
      subject: 'Operator asks too',
      text: 'x',
    });
    assert.equal(asked.status, 'pending_approval');
    await assert.rejects(
      call(operator, 'mail.drafts.approve', { id: asked.id }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(
      call(operator, 'mail.drafts.request_approval', {
        mailbox: BOX,
        to: ['a@b.example'],
        subject: 'x\r\ny',
        text: '',
      }),
      withCode('E_MAIL_HEADER_INVALID'),
    );
    const draft = await call<DraftOut>(agent, 'mail.drafts.create', {
      mailbox: BOX,
      to: ['client@remote.example'],
      subject: 'Later',
      text: 'x',
    });
    const scheduled = await call<DraftOut & { sendAt: string }>(agent, 'mail.drafts.schedule', {
      id: draft.id,
      sendAt: '2030-01-01T00:00:00Z',
    });
    assert.deepEqual([scheduled.status, scheduled.sendAt], ['scheduled', '2030-01-01T00:00:00.000Z']);
    assert.equal((await call<DraftOut>(agent, 'mail.drafts.cancel', { id: draft.id })).status, 'draft');
    const listed = await call<{ drafts: DraftOut[] }>(agent, 'mail.drafts.list', {
      mailbox: BOX,
      status: 'pending_approval',
    });
    assert.ok(listed.drafts.some((d) => d.id === asked.id));
    assert.ok(listed.drafts.every((d) => d.status === 'pending_approval'));
  });

  it('the audit log records who held, approved and rejected', async () => {
    const entries = await kernel.audit.list(operator.tenantId, { limit: 500 });
    const of = (action: string) => entries.filter((e) => e.action === action && e.outcome === 'ok');
    assert.ok(of('mail.drafts.approve').some((e) => e.principalId === operator.id));
    assert.ok(of('mail.drafts.reject').some((e) => e.principalId === operator.id));
    assert.ok(of('mail.send').some((e) => e.principalId === agent.id));
    assert.ok(
      entries.some(
        (e) => e.action === 'mail.drafts.approve' && e.principalId === agent.id && e.outcome !== 'ok',
      ),
      'the refused self-approval is audited too',
    );
  });
});
