/**
 * Approval webhooks on both engines, against a real HTTP receiver on loopback: each delivery
 * verifies with the secret (checked with the independent `standardwebhooks` library and with the
 * mail layer's verifier); requested, decided and expired events arrive; a 500 is retried until a
 * 200; a restart with a delivery still in the outbox delivers it exactly once and re-sends nothing
 * already delivered; a refused URL or secret gets E_INVALID_INPUT and stores nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { verifyWebhook } from '../../identity/index.ts';
import { silentLogger, systemClock, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { harness, type Harness } from '../testing.ts';
import type { Approval } from './approval-row.ts';
import { openFleetAlerts, type FleetAlerts } from './open.ts';
import { ApprovalWebhooks, type ApprovalDelivery } from './webhooks.ts';

const masterKey = randomBytes(32);

const asking = defineWorkflow(
  {
    name: 'hooked-deploy',
    version: 1,
    input: z.object({ timeoutMs: z.number().optional() }),
    output: z.unknown(),
  },
  async (ctx, input) => {
    const decision = await ctx.approve({
      question: 'Ship it?',
      approvers: [],
      ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs, onTimeout: 'reject' as const }),
    });
    return { approved: decision.approved };
  },
);

type Received = { headers: IncomingHttpHeaders; body: string; answered: number };

/** A webhook receiver: records every request and answers from `plan` (then 200). */
async function receiver(): Promise<{ url: string; got: Received[]; plan: number[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const plan: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const answered = plan.shift() ?? 200;
      got.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/hooks/approvals`,
    got,
    plan,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const until = async (check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const typeOf = (r: Received): string => (JSON.parse(r.body) as { type: string }).type;
const approvalOf = (r: Received): Approval =>
  (JSON.parse(r.body) as { data: { approval: Approval } }).data.approval;

onEveryStore('approval webhooks', (db) => {
  let h: Harness;
  let alerts: FleetAlerts;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let secret: string;
  let webhookId: string;

  const open = async (): Promise<void> => {
    h = await harness(db(), 'hooks');
    alerts = await openFleetAlerts({
      store: h.store,
      kernel: h.kernel,
      engine: h.engine,
      masterKey,
      clock: systemClock,
      logger: silentLogger(),
      sweepIntervalMs: 3_600_000,
      allowPrivate: true, // the receiver is on loopback
      webhookDelivery: { baseDelayMs: 50, maxDelayMs: 200, intervalMs: 100 },
    });
    h.engine.register(asking);
    await h.worker();
  };
  const close = async (): Promise<void> => {
    await alerts.close();
    await h.close();
  };
  const call = <T>(name: string, input: unknown, principal: Principal = h.principal): Promise<T> =>
    h.kernel.call<T>(name, input, { principal });
  const askedBy = async (runId: string): Promise<Approval> => {
    await h.waitFor(runId, ['waiting']);
    const { approvals } = await call<{ approvals: Approval[] }>('approvals.list', { runId });
    return approvals[0] as Approval;
  };
  const forApproval = (id: string, type: string): Received[] =>
    hook.got.filter((r) => r.answered === 200 && typeOf(r) === type && approvalOf(r).id === id);

  before(async () => {
    hook = await receiver();
    await open();
    const created = await call<{ id: string; secret: string; events: string[] }>(
      'approvals.webhooks.create',
      {
        url: hook.url,
      },
    );
    assert.match(created.secret, /^whsec_/);
    assert.deepEqual(created.events, ['approval.requested', 'approval.decided', 'approval.expired']);
    ({ secret, id: webhookId } = created);
  });
  after(async () => {
    await close();
    await hook.close();
  });

  it('signs each delivery (Standard Webhooks) and sends requested, decided and expired', async () => {
    const run = await h.engine.start('hooked-deploy', {}, { principal: h.principal });
    const approval = await askedBy(run.id);
    await until(() => forApproval(approval.id, 'approval.requested').length === 1, 'approval.requested');
    await call('approvals.decide', { id: approval.id, decision: 'approve' });
    await until(() => forApproval(approval.id, 'approval.decided').length === 1, 'approval.decided');
    const decided = forApproval(approval.id, 'approval.decided')[0] as Received;
    const headers = Object.fromEntries(
      ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k) => [k, String(decided.headers[k])]),
    );
    assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]+=*$/);
    // Verified by an independent implementation of the scheme, and by Strata's own verifier.
    const body = new Webhook(secret).verify(decided.body, headers) as {
      id: string;
      data: { approval: Approval };
    };
    assert.equal(body.id, headers['webhook-id']);
    assert.equal(body.data.approval.status, 'approved');
    assert.deepEqual(verifyWebhook(secret, decided.headers, decided.body), body);
    // The wrong secret or an altered body does not verify.
    assert.throws(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(decided.body, headers),
    );
    assert.throws(() => verifyWebhook(secret, decided.headers, decided.body.replace('approved', 'rejected')));
    await h.waitFor(run.id, ['completed']);

    const timed = await h.engine.start('hooked-deploy', { timeoutMs: 200 }, { principal: h.principal });
    const expiring = await askedBy(timed.id);
    await until(() => forApproval(expiring.id, 'approval.expired').length === 1, 'approval.expired');
    assert.equal(approvalOf(forApproval(expiring.id, 'approval.expired')[0] as Received).status, 'rejected');
    assert.equal(forApproval(expiring.id, 'approval.decided').length, 0);
  });

  it('retries a 500 with backoff until a 200, under the same webhook-id', async () => {
    hook.plan.push(500, 500);
    const run = await h.engine.start('hooked-deploy', {}, { principal: h.principal });
    const approval = await askedBy(run.id);
    await until(() => forApproval(approval.id, 'approval.requested').length === 1, 'the retried delivery');
    const attempts = hook.got.filter(
      (r) => typeOf(r) === 'approval.requested' && approvalOf(r).id === approval.id,
    );
    assert.deepEqual(
      attempts.map((r) => r.answered),
      [500, 500, 200],
    );
    assert.equal(new Set(attempts.map((r) => r.headers['webhook-id'])).size, 1);
    // The receiver answered before the dispatcher records the answer: wait for the row.
    let row: ApprovalDelivery | undefined;
    const rowOf = async (): Promise<ApprovalDelivery | undefined> =>
      (
        await call<{ deliveries: ApprovalDelivery[] }>('approvals.webhooks.deliveries', { id: webhookId })
      ).deliveries.find((d) => d.eventId === attempts[0]?.headers['webhook-id']);
    for (let i = 0; i < 200 && (row = await rowOf())?.status === 'pending'; i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal(row?.status, 'delivered');
    assert.equal(row?.attempts, 3);
    assert.equal(row?.lastStatus, 200);
    await call('approvals.decide', { id: approval.id, decision: 'reject' });
  });

  it('a restart with a delivery in the outbox delivers it once, and nothing twice', async () => {
    const run = await h.engine.start('hooked-deploy', {}, { principal: h.principal });
    const approval = await askedBy(run.id);
    await until(() => forApproval(approval.id, 'approval.requested').length === 1, 'approval.requested');
    await alerts.webhookDispatcher.stop(); // the process is about to die: nothing sends any more
    await call('approvals.decide', { id: approval.id, decision: 'approve' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(forApproval(approval.id, 'approval.decided').length, 0);
    await close();
    await open();
    await until(() => forApproval(approval.id, 'approval.decided').length === 1, 'delivery after restart');
    await h.waitFor(run.id, ['completed']);
    await new Promise((r) => setTimeout(r, 500)); // a second send would land within the retry delays
    const forRun = hook.got.filter((r) => approvalOf(r).id === approval.id);
    assert.deepEqual(forRun.map(typeOf).sort(), ['approval.decided', 'approval.requested']);
  });

  it('refuses a private URL, a bad scheme and a bad secret with E_INVALID_INPUT, storing nothing', async () => {
    const before = await call<{ webhooks: unknown[] }>('approvals.webhooks.list', {});
    const guarded = new ApprovalWebhooks({ store: h.store, masterKey, clock: systemClock });
    await assert.rejects(
      guarded.create(h.principal.tenantId, { url: hook.url, events: ['approval.decided'] }),
      (e: unknown) => withCode('E_INVALID_INPUT')(e) && /private|loopback/.test(String((e as Error).message)),
    );
    for (const input of [
      { url: 'ftp://hooks.example/x' },
      { url: 'not a url' },
      { url: hook.url, secret: 'whsec_c2hvcnQ=' }, // 5 bytes
      { url: hook.url, secret: 'plain-text-secret-that-is-long' },
    ])
      await assert.rejects(call('approvals.webhooks.create', input), withCode('E_INVALID_INPUT'));
    assert.deepEqual(await call('approvals.webhooks.list', {}), before);
    await assert.rejects(call('approvals.webhooks.delete', { id: 'whk_nope' }), withCode('E_NOT_FOUND'));
  });
});
