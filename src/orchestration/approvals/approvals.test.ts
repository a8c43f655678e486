/**
 * Approvals on both engines, end to end through the kernel, a worker and real SMTP on loopback:
 * a run waiting for approval survives a restart; of two concurrent decisions exactly one wins;
 * a restart right after the decision runs the guarded action exactly once; an email reply from an
 * approver with DMARC passing approves, one from a non-approver or failing DMARC does not; each
 * onTimeout; bad decisions refused with stable codes and nothing changed; signatures.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import {
  Mail,
  mailSyscalls,
  memoryResolver,
  smtpSink,
  type RunningSmtpServer,
} from '../../identity/index.ts';
import { silentLogger, systemClock, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { harness, type Harness } from '../testing.ts';
import type { Approval } from './approval-row.ts';
import { openFleetAlerts, type FleetAlerts } from './open.ts';
import { verifyNodeSignature } from './signing.ts';

const masterKey = randomBytes(32);
const BOX = 'ops@strata.example';
// corp.example mails from 127.0.0.1 with an aligned SPF pass (DMARC passes); forged.example has
// DMARC p=reject and an SPF record that does not list 127.0.0.1 (DMARC fails).
const resolver = memoryResolver({
  'corp.example TXT': ['v=spf1 ip4:127.0.0.1 -all'],
  '_dmarc.corp.example TXT': ['v=DMARC1; p=reject'],
  'forged.example TXT': ['v=spf1 ip4:192.0.2.1 -all'],
  '_dmarc.forged.example TXT': ['v=DMARC1; p=reject'],
});

const inputSchema = z.object({
  approvers: z.array(z.string()).default([]),
  timeoutMs: z.number().optional(),
  onTimeout: z.enum(['reject', 'approve', 'escalate']).optional(),
  mailbox: z.string().optional(),
  withSchema: z.boolean().optional(),
});

/** Asks, then runs the guarded action in a transaction step (its effect written exactly once). */
const guarded = defineWorkflow(
  { name: 'guarded-deploy', version: 1, input: inputSchema, output: z.unknown() },
  async (ctx, input) => {
    const decision = await ctx.approve({
      question: 'Deploy v42 to production?',
      approvers: input.approvers,
      ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
      ...(input.onTimeout === undefined ? {} : { onTimeout: input.onTimeout }),
      ...(input.mailbox === undefined ? {} : { mailbox: input.mailbox }),
      ...(input.withSchema ? { schema: z.object({ replicas: z.number().int().min(1) }) } : {}),
    });
    if (decision.approved)
      await ctx.transaction('deploy', (tx) =>
        tx.run('INSERT INTO test_deploys (run_id) VALUES (?)', [ctx.runId]),
      );
    return { approved: decision.approved, by: decision.decidedBy, via: decision.via, value: decision.value };
  },
);

onEveryStore('approvals', (db) => {
  let h: Harness;
  let mail: Mail;
  let alerts: FleetAlerts;
  let smtp: RunningSmtpServer;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let tenant: string;

  const open = async (): Promise<void> => {
    h = await harness(db(), 'acme');
    tenant = h.principal.tenantId;
    mail = await Mail.open({
      store: h.store,
      masterKey,
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver,
    });
    for (const definition of mailSyscalls(mail)) h.kernel.register(definition);
    alerts = await openFleetAlerts({
      store: h.store,
      kernel: h.kernel,
      engine: h.engine,
      masterKey,
      clock: systemClock,
      logger: silentLogger(),
      mail,
      sweepIntervalMs: 3_600_000,
    });
    h.engine.register(guarded);
    smtp = await mail.listen({ port: 0, host: '127.0.0.1' });
    await h.worker();
  };
  const close = async (): Promise<void> => {
    await smtp.close();
    await alerts.close();
    await h.close();
  };
  const start = (input: z.input<typeof inputSchema> = {}) =>
    h.engine.start('guarded-deploy', input, { principal: h.principal });
  const call = <T>(name: string, input: unknown, principal: Principal = h.principal): Promise<T> =>
    h.kernel.call<T>(name, input, { principal });
  /** The run's approval, once the run waits for it. */
  const pendingOf = async (runId: string): Promise<Approval> => {
    await h.waitFor(runId, ['waiting']);
    const { approvals } = await call<{ approvals: Approval[] }>('approvals.list', { runId });
    assert.equal(approvals.length, 1);
    return approvals[0] as Approval;
  };
  const deploys = async (runId: string): Promise<number> =>
    Number(
      (
        await h.store.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM test_deploys WHERE run_id = ?', [
          runId,
        ])
      )?.n,
    );
  const keyWith = async (grants: { syscall: string; resource: string }[]): Promise<Principal> => {
    const { key } = await h.kernel.principals.createApiKey({
      tenantId: tenant,
      name: `k${Math.random()}`,
      grants,
    });
    return h.kernel.authenticate({ apiKey: key });
  };
  const reply = (from: string, subject: string, text: string) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: smtp.port, ignoreTLS: true })
      .sendMail({ from, to: BOX, subject, text });

  before(async () => {
    sink = await smtpSink();
    await open();
    await h.store.run('CREATE TABLE test_deploys (run_id TEXT NOT NULL)');
    await mail.createMailbox({ tenant, agent: 'ops', address: BOX });
  });
  after(async () => {
    await close();
    await sink.close();
  });

  it('survives a restart: the run waits across it, then the decision resumes it; asked once', async () => {
    const run = await start();
    const approval = await pendingOf(run.id);
    await close();
    await open();
    assert.equal((await h.engine.get(tenant, run.id)).status, 'waiting');
    const decided = await call<Approval>('approvals.decide', {
      id: approval.id,
      decision: 'approve',
      reason: 'ok',
    });
    assert.equal(decided.status, 'approved');
    assert.equal(decided.decidedBy, h.principal.id);
    const done = await h.waitFor(run.id, ['completed', 'failed']);
    assert.deepEqual(done.output, { approved: true, by: h.principal.id, via: 'api' });
    assert.equal(await deploys(run.id), 1);
    assert.equal(
      (await call<{ approvals: Approval[] }>('approvals.list', { runId: run.id, status: 'all' })).approvals
        .length,
      1,
    );
    // Signed under the node key (an API key has no identity key), and in the audit log.
    assert.equal(decided.signedWith, 'hmac-sha256:node');
    const canonical = {
      approval: approval.id,
      tenant,
      run: run.id,
      decision: 'approve' as const,
      value: null,
      reason: 'ok',
      by: h.principal.id,
      via: 'api' as const,
      at: decided.decidedAt ?? 0,
    };
    assert.ok(verifyNodeSignature(canonical, decided.signature ?? '', masterKey));
    assert.ok(!verifyNodeSignature({ ...canonical, decision: 'reject' }, decided.signature ?? '', masterKey));
    await h.kernel.audit.flush();
    const audit = await h.store.all<{ outcome: string; principal_id: string }>(
      "SELECT outcome, principal_id FROM kernel_audit WHERE action = 'approvals.decide'",
    );
    assert.ok(
      audit.some((a) => a.outcome === 'ok'),
      JSON.stringify(audit),
    );
  });

  it('two concurrent decisions: exactly one wins, the other gets E_CONFLICT', async () => {
    const run = await start();
    const { id } = await pendingOf(run.id);
    const results = await Promise.allSettled([
      call('approvals.decide', { id, decision: 'approve' }),
      call('approvals.decide', { id, decision: 'reject', reason: 'no' }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const loser = results.find((r) => r.status === 'rejected');
    assert.ok(loser && withCode('E_CONFLICT')(loser.reason), String(loser?.reason));
    const done = await h.waitFor(run.id, ['completed']);
    const won = (await call<Approval>('approvals.get', { id })).status;
    assert.equal((done.output as { approved: boolean }).approved, won === 'approved');
    assert.equal(await deploys(run.id), won === 'approved' ? 1 : 0);
  });

  it('a restart right after the decision runs the guarded action exactly once', async () => {
    const run = await start();
    const { id } = await pendingOf(run.id);
    await call('approvals.decide', { id, decision: 'approve' });
    await close(); // the worker goes away before (or while) the run resumes
    await open();
    await h.waitFor(run.id, ['completed']);
    assert.equal(await deploys(run.id), 1);
    const journal = await h.engine.journal(tenant, run.id);
    assert.equal(journal.filter((e) => e.name === 'approvals.request').length, 1);
  });

  it('bad decisions: unknown, already decided, value not matching the schema, not an approver; nothing changes', async () => {
    await assert.rejects(
      call('approvals.decide', { id: 'apr_nope', decision: 'approve' }),
      withCode('E_NOT_FOUND'),
    );
    const run = await start({ withSchema: true, approvers: ['role:release'] });
    const { id } = await pendingOf(run.id);
    const outsider = await keyWith([{ syscall: 'approvals.*', resource: 'approvals/*' }]);
    await assert.rejects(
      call('approvals.decide', { id, decision: 'approve', value: { replicas: 2 } }, outsider),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(
      call('approvals.decide', { id, decision: 'approve', value: { replicas: 0 } }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(call('approvals.decide', { id, decision: 'approve' }), withCode('E_INVALID_INPUT'));
    assert.equal((await call<Approval>('approvals.get', { id })).status, 'pending');
    const releaser = await keyWith([
      { syscall: 'approvals.decide', resource: 'approvals/*' },
      { syscall: 'approvals.decide', resource: 'roles/release' },
    ]);
    const decided = await call<Approval>(
      'approvals.decide',
      { id, decision: 'approve', value: { replicas: 2 } },
      releaser,
    );
    assert.equal(decided.decidedBy, releaser.id);
    await assert.rejects(call('approvals.decide', { id, decision: 'reject' }), withCode('E_CONFLICT'));
    const after = await call<Approval>('approvals.get', { id });
    assert.equal(after.status, 'approved');
    assert.deepEqual(after.value, { replicas: 2 });
    const done = await h.waitFor(run.id, ['completed']);
    assert.deepEqual((done.output as { value: unknown }).value, { replicas: 2 });
    // The asking run alone applies a timeout, and only after its deadline.
    await assert.rejects(call('approvals.timeout', { id }), withCode('E_CAPABILITY_DENIED'));
  });

  it('timeouts: reject, approve, escalate (a P1 escalation, still waiting for a person)', async () => {
    const rejected = await start({ timeoutMs: 300, onTimeout: 'reject' });
    const approved = await start({ timeoutMs: 300, onTimeout: 'approve' });
    const escalated = await start({ timeoutMs: 300, onTimeout: 'escalate' });
    const r = await h.waitFor(rejected.id, ['completed', 'failed']);
    assert.deepEqual(r.output, { approved: false, by: 'system:timeout', via: 'timeout' });
    const a = await h.waitFor(approved.id, ['completed', 'failed']);
    assert.deepEqual(a.output, { approved: true, by: 'system:timeout', via: 'timeout' });
    assert.equal(await deploys(approved.id), 1);
    const { approvals } = await call<{ approvals: Approval[] }>('approvals.list', { runId: escalated.id });
    const pending = approvals[0] as Approval;
    for (
      let i = 0;
      i < 200 && (await call<Approval>('approvals.get', { id: pending.id })).escalatedAt === null;
      i++
    )
      await new Promise((res) => setTimeout(res, 25));
    const { escalations } = await call<{ escalations: { key: string; severity: string; source: string }[] }>(
      'escalations.list',
      {},
    );
    const raised = escalations.find((e) => e.key === `approval:${pending.id}`);
    assert.deepEqual(raised && { severity: raised.severity, source: raised.source }, {
      severity: 'P1',
      source: 'approvals',
    });
    await h.waitFor(escalated.id, ['waiting']);
    await call('approvals.decide', { id: pending.id, decision: 'reject', reason: 'not today' });
    const e = await h.waitFor(escalated.id, ['completed']);
    assert.deepEqual(e.output, { approved: false, by: h.principal.id, via: 'api' });
  });

  it('email: the request is mailed; a reply from a non-approver or failing DMARC does not decide, an approver’s does', async () => {
    const run = await start({
      approvers: ['mail:boss@corp.example', 'mail:ceo@forged.example'],
      mailbox: BOX,
    });
    const { id } = await pendingOf(run.id);
    const request = sink.received.find((m) => m.raw.toString().includes(`[approval ${id}]`));
    assert.ok(request, 'the request was mailed');
    assert.deepEqual([...request.rcptTo].sort(), ['boss@corp.example', 'ceo@forged.example']);
    const subject = `Re: [approval ${id}] Deploy v42 to production?`;
    await reply('intern@corp.example', subject, 'approve'); // DMARC passes, not an approver
    await reply('ceo@forged.example', subject, 'approve'); // an approver's address, DMARC fails
    await reply('boss@corp.example', 'Unrelated', 'approve'); // not a reply to the request
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await call<Approval>('approvals.get', { id })).status, 'pending');
    await reply('Boss <boss@corp.example>', subject, 'Approve — go ahead.\n\nOn Mon, ops wrote:\n> reject');
    const done = await h.waitFor(run.id, ['completed']);
    assert.deepEqual(done.output, { approved: true, by: 'mail:boss@corp.example', via: 'mail' });
    const decided = await call<Approval>('approvals.get', { id });
    assert.equal(decided.reason, 'go ahead.');
    assert.equal(decided.signedWith, 'hmac-sha256:node');
  });
});
