/**
 * `waitForMail` as a durable step in the running server: a run waiting for a reply survives a
 * server restart and resumes when the mail arrives over SMTP at the restarted server; a run whose
 * mail never comes fails cleanly with E_WAIT_TIMEOUT (its wait cancelled, so a late message
 * changes nothing); and `mail.wait_for` waits inside one call for callers that are not runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { waitForMail } from '../src/identity/index.ts';
import { configSchema, isStrataError, type Principal } from '../src/kernel/index.ts';
import { defineWorkflow, waitForRun } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';

const awaitReply = defineWorkflow(
  {
    name: 'await-reply',
    version: 1,
    input: z.object({ mailbox: z.string(), from: z.string(), timeoutMs: z.number() }),
    output: z.object({ subject: z.string(), text: z.string(), authenticated: z.boolean() }),
  },
  async (ctx, input) => {
    const reply = await waitForMail(ctx, {
      mailbox: input.mailbox,
      from: input.from,
      timeoutMs: input.timeoutMs,
    });
    return { subject: reply.subject, text: reply.text.trim(), authenticated: reply.authenticated };
  },
);

void describe('waitForMail in durable runs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mail-wait-'));
  const config = configSchema.parse({
    dataDir,
    mail: { hostname: 'mx.strata.test', domains: ['agents.test'], smtpPort: 0 },
  });
  const open = async (): Promise<Runtime> => {
    const opened = await openRuntime({ config, worker: true });
    opened.engine.register(awaitReply); // the worker claims a workflow's runs once it is registered
    return opened;
  };
  let runtime: Runtime;
  let principal: Principal;
  let tenantId: string;
  const send = (runtimeNow: Runtime, message: { from: string; subject: string; text: string }) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: runtimeNow.identity.smtp?.port, ignoreTLS: true })
      .sendMail({ to: 'clerk@agents.test', ...message });
  const status = async (runId: string) => (await runtime.engine.get(tenantId, runId)).status;
  const until = async (what: string, predicate: () => Promise<boolean>): Promise<void> => {
    for (
      const deadline = Date.now() + 20_000;
      !(await predicate());
      await new Promise((r) => setTimeout(r, 25))
    )
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
  };

  before(async () => {
    runtime = await open();
    const boot = await bootstrapDefaultTenant(runtime);
    tenantId = boot.tenantId;
    principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey });
    await runtime.kernel.principals.createAgent({ tenantId, name: 'clerk' });
    await runtime.kernel.call(
      'mail.mailboxes.create',
      { agent: 'clerk', address: 'clerk@agents.test' },
      { principal },
    );
  });
  after(async () => {
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('survives a server restart and resumes when the reply arrives; another run times out cleanly', async () => {
    const answered = await runtime.engine.start(
      'await-reply',
      { mailbox: 'clerk@agents.test', from: 'approver@corp.test', timeoutMs: 120_000 },
      { principal },
    );
    const unanswered = await runtime.engine.start(
      'await-reply',
      { mailbox: 'clerk@agents.test', from: 'nobody@corp.test', timeoutMs: 2_000 },
      { principal },
    );
    await until('both runs to wait', async () =>
      (await Promise.all([status(answered.id), status(unanswered.id)])).every((s) => s === 'waiting'),
    );
    // Mail from someone else does not wake the run.
    await send(runtime, { from: 'spam@elsewhere.test', subject: 'Offer', text: 'Buy now.' });

    await runtime.close(); // the server goes away; the runs hold no process while they wait
    runtime = await open();
    assert.equal(await status(answered.id), 'waiting', 'still waiting after the restart');

    await send(runtime, {
      from: 'Approver <approver@corp.test>',
      subject: 'Re: deploy #42',
      text: 'Approved.',
    });
    const done = await waitForRun(runtime.engine, tenantId, answered.id, { timeoutMs: 20_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(done.output, { subject: 'Re: deploy #42', text: 'Approved.', authenticated: false });

    const timedOut = await waitForRun(runtime.engine, tenantId, unanswered.id, { timeoutMs: 20_000 });
    assert.equal(timedOut.status, 'failed');
    assert.equal(timedOut.error?.code, 'E_WAIT_TIMEOUT');
    assert.match(timedOut.error?.message ?? '', /clerk@agents\.test/);
    const waits = await runtime.identity.mail.store.all<{ run_id: string; status: string }>(
      'SELECT run_id, status FROM mail_waits WHERE run_id IN (?, ?) ORDER BY run_id',
      [answered.id, unanswered.id],
    );
    assert.deepEqual(Object.fromEntries(waits.map((w) => [w.run_id, w.status])), {
      [answered.id]: 'fired',
      [unanswered.id]: 'cancelled',
    });
    // The reply that comes too late is stored, and changes nothing for the failed run.
    await send(runtime, { from: 'nobody@corp.test', subject: 'sorry, late', text: 'Here.' });
    assert.equal(await status(unanswered.id), 'failed');
  });

  it('mail.wait_for waits inside the call, and refuses after its timeout with E_WAIT_TIMEOUT', async () => {
    const waiting = runtime.kernel.call<{ subject: string }>(
      'mail.wait_for',
      { mailbox: 'clerk@agents.test', subject: 'magic link', timeoutMs: 10_000 },
      { principal },
    );
    await new Promise((r) => setTimeout(r, 100));
    await send(runtime, {
      from: 'login@service.test',
      subject: 'Your magic link',
      text: 'https://service.test/m/1',
    });
    assert.equal((await waiting).subject, 'Your magic link');

    const error: unknown = await runtime.kernel
      .call(
        'mail.wait_for',
        { mailbox: 'clerk@agents.test', subject: 'never', timeoutMs: 300 },
        { principal },
      )
      .catch((e: unknown) => e);
    assert.ok(isStrataError(error) && error.code === 'E_WAIT_TIMEOUT', String(error));
  });
});
