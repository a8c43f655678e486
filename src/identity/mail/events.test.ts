/**
 * Mail events and webhooks on both engines, delivered to a real HTTP receiver on loopback (test
 * mode): events are appended with the message (received) or after the relay (sent, failed) in
 * increasing `seq`; a webhook's signature verifies with `verifyWebhook` and a tampered or stale one
 * does not; a receiver failing twice then succeeding gets three logged attempts; a message above
 * the inline limit goes by reference; private URLs are refused outside test mode; the secret shows
 * up in no log line, audit row or error.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import {
  createLogger,
  isStrataError,
  Kernel,
  systemClock,
  type Principal,
  type Store,
} from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { openMailEvents, type MailEventsLayer } from './events-setup.ts';
import { mailEventSyscalls } from './events-syscalls.ts';
import { Mail } from './mail.ts';
import { rawMessage, smtpSink } from './testing.ts';
import { verifyWebhook } from './webhook-signature.ts';
import { MailWebhooks, type Delivery } from './webhooks.ts';

const INLINE_LIMIT = 8 * 1024;

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP receiver answering each POST with the next planned status (then 200). */
async function receiver(): Promise<{ url: string; got: Received[]; plan: number[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const plan: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(plan.shift() ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    plan,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

onEveryStore('mail events and webhooks', (db) => {
  let store: Store;
  let kernel: Kernel;
  let mail: Mail;
  let layer: MailEventsLayer;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let principal: Principal;
  let refuseRelay = false;
  const lines: string[] = [];
  const masterKey = randomBytes(32);

  const deliver = (subject: string, text = 'Hello.') =>
    mail.deliver(
      {
        mailFrom: 'sender@remote.test',
        recipients: ['inbox@agents.test'],
        remoteAddress: '127.0.0.1',
        helo: 'r',
      },
      rawMessage({ from: 'sender@remote.test', to: ['inbox@agents.test'], subject, text }),
    );
  const call = <T>(name: string, input: unknown): Promise<T> => kernel.call<T>(name, input, { principal });
  const settled = async (webhook: string, count: number): Promise<Delivery[]> => {
    for (let i = 0; i < 300; i++) {
      const list = await layer.webhooks.deliveries(principal.tenantId, webhook);
      if (list.length >= count && list.every((d) => d.status !== 'pending')) return list;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('deliveries did not settle');
  };

  before(async () => {
    store = await db().open();
    const logger = createLogger({
      level: 'trace',
      destination: { write: (l: string) => void lines.push(l) },
    });
    kernel = await Kernel.open({ store, masterKey, logger });
    // A rejected promise (not a throw) makes the sink answer 550 at once.
    sink = await smtpSink(() =>
      refuseRelay ? Promise.reject(new Error('550 mailbox unavailable')) : undefined,
    );
    hook = await receiver();
    mail = await Mail.open({
      store,
      masterKey,
      hostname: 'mx.strata.test',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    layer = await openMailEvents({
      mail,
      masterKey,
      logger,
      clock: systemClock,
      allowPrivate: true,
      delivery: { intervalMs: 20, baseDelayMs: 20, maxAttempts: 4, inlineLimitBytes: INLINE_LIMIT },
    });
    for (const definition of mailEventSyscalls(layer)) kernel.register(definition);
    layer.dispatcher.start();
    const tenant = await kernel.principals.createTenant('acme');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'k',
      grants: [{ syscall: 'mail.*', resource: '*' }],
    });
    principal = await kernel.authenticate({ apiKey: key });
    await mail.createMailbox({ tenant: tenant.id, agent: 'a1', address: 'inbox@agents.test' });
  });
  after(async () => {
    await layer.dispatcher.stop();
    await Promise.all([sink.close(), hook.close()]);
    await kernel.close(1000);
  });

  it('appends message.received with the message and message.sent / message.failed after the relay', async () => {
    const [received] = await deliver('first');
    const sent = await mail.send({
      tenant: principal.tenantId,
      mailboxId: 'inbox@agents.test',
      to: ['out@remote.test'],
      subject: 'out',
      text: 'x',
    });
    refuseRelay = true;
    await assert.rejects(
      mail.send({
        tenant: principal.tenantId,
        mailboxId: 'inbox@agents.test',
        to: ['o@remote.test'],
        subject: 'no',
        text: 'x',
      }),
      withCode('E_MAIL_SEND_FAILED'),
    );
    refuseRelay = false;
    const { events, next } = await call<{
      events: { seq: number; type: string; messageId: string }[];
      next: number;
    }>('mail.events.list', {});
    assert.deepEqual(
      events.map((e) => e.type),
      ['message.received', 'message.sent', 'message.failed'],
    );
    assert.deepEqual([events[0]?.messageId, events[1]?.messageId], [received?.id, sent.id]);
    assert.ok(
      events.every((e, i) => i === 0 || e.seq > (events[i - 1]?.seq ?? Infinity)),
      'seq increases',
    );
    assert.equal(next, events[2]?.seq);
    const later = await call<{ events: unknown[] }>('mail.events.list', { after: events[1]?.seq });
    assert.equal(later.events.length, 1);
    assert.equal(await layer.events.head(principal.tenantId), next);
    assert.deepEqual(await layer.events.list('ten_other'), [], 'another tenant sees none');
  });

  it('refuses private and loopback URLs outside test mode', async () => {
    const strict = new MailWebhooks({ store, masterKey, clock: systemClock });
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://localhost/x',
      'http://10.1.2.3/x',
      'http://[::1]/x',
      'ftp://a.test/x',
    ]) {
      await assert.rejects(
        strict.create({ tenant: principal.tenantId, url, events: ['message.received'] }),
        withCode('E_INVALID_INPUT'),
        url,
      );
    }
  });

  it('signs deliveries so verifyWebhook accepts them, and refuses tampering and replays', async () => {
    const created = await call<{ id: string; secret: string }>('mail.webhooks.create', {
      url: hook.url,
      events: ['message.received'],
    });
    assert.match(created.secret, /^whsec_/);
    const [message] = await deliver('signed', 'Your code is 424242');
    const [delivery] = await settled(created.id, 1);
    assert.equal(delivery?.status, 'delivered');
    const got = hook.got.at(-1);
    assert.ok(got);
    const payload = verifyWebhook(created.secret, got.headers, got.body) as {
      type: string;
      data: { byReference: boolean; message: { id: string; text: string } };
    };
    assert.equal(payload.type, 'message.received');
    assert.equal(payload.data.message.id, message?.id);
    assert.match(payload.data.message.text, /424242/);
    assert.equal(payload.data.byReference, false);
    const refused = (reason: RegExp, fn: () => unknown) =>
      assert.throws(
        fn,
        (e: unknown) => isStrataError(e) && e.code === 'E_UNAUTHENTICATED' && reason.test(e.message),
      );
    refused(/mismatch/, () =>
      verifyWebhook(created.secret, got.headers, got.body.replace('424242', '000000')),
    );
    refused(/mismatch/, () =>
      verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, got.headers, got.body),
    );
    const signedAt = Number(got.headers['webhook-timestamp']);
    refused(/window/, () =>
      verifyWebhook(created.secret, got.headers, got.body, { nowSeconds: signedAt + 301 }),
    );
    refused(/missing/, () => verifyWebhook(created.secret, {}, got.body));
    await call('mail.webhooks.delete', { id: created.id });
  });

  it('retries a failing receiver with backoff and logs every attempt', async () => {
    const created = await call<{ id: string }>('mail.webhooks.create', { url: hook.url });
    hook.plan.push(500, 503);
    await deliver('retried');
    const [delivery] = await settled(created.id, 1);
    assert.equal(delivery?.status, 'delivered');
    assert.deepEqual(
      delivery?.log.map((a) => [a.attempt, a.statusCode, a.error]),
      [
        [1, 500, 'HTTP 500'],
        [2, 503, 'HTTP 503'],
        [3, 200, null],
      ],
    );
    assert.ok(delivery.log.every((a) => a.durationMs >= 0));
    hook.plan.push(500, 500, 500, 500);
    await deliver('never');
    const [failed] = await settled(created.id, 2);
    assert.deepEqual([failed?.status, failed?.attempts, failed?.lastStatus], ['failed', 4, 500]);
    await call('mail.webhooks.delete', { id: created.id });
  });

  it('sends a message over the inline limit by reference, never truncated', async () => {
    const created = await call<{ id: string; secret: string }>('mail.webhooks.create', { url: hook.url });
    const [message] = await deliver('large', 'x'.repeat(INLINE_LIMIT * 2));
    await settled(created.id, 1);
    const got = hook.got.at(-1);
    assert.ok(got);
    const payload = verifyWebhook(created.secret, got.headers, got.body) as {
      data: {
        byReference: boolean;
        message: { id: string; size: number; text?: string };
        fetch: { syscall: string; input: { id: string } };
      };
    };
    assert.equal(payload.data.byReference, true);
    assert.equal(payload.data.message.text, undefined);
    assert.ok(payload.data.message.size > INLINE_LIMIT * 2);
    assert.deepEqual(payload.data.fetch.input, { id: message?.id });
    assert.equal(payload.data.fetch.syscall, 'mail.get');
    await call('mail.webhooks.delete', { id: created.id });
  });

  it('keeps the secret out of every log line, audit row and error', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const created = await call<{ id: string; secret: string }>('mail.webhooks.create', {
      url: hook.url,
      secret,
    });
    assert.equal(created.secret, secret, 'shown once, at creation');
    hook.plan.push(500);
    await deliver('audit');
    await settled(created.id, 1);
    // A refused creation echoing its input must not echo the secret either.
    const error = await call('mail.webhooks.create', { url: 'not a url', secret }).catch((e: unknown) => e);
    assert.ok(isStrataError(error));
    const listed = await call<{ webhooks: unknown[] }>('mail.webhooks.list', {});
    await kernel.audit.flush();
    const audit = await store.all<Record<string, unknown>>('SELECT * FROM kernel_audit');
    assert.ok(
      audit.some((r) => JSON.stringify(r).includes('mail.webhooks.create')),
      'creation was audited',
    );
    const key = secret.slice('whsec_'.length);
    for (const [where, text] of [
      ['logs', lines.join('')],
      ['audit', JSON.stringify(audit)],
      ['error', JSON.stringify({ message: error.message, data: error.data })],
      ['list', JSON.stringify(listed)],
      ['deliveries', JSON.stringify(await layer.webhooks.deliveries(principal.tenantId, created.id))],
    ] as const) {
      assert.ok(!text.includes(key), `the secret is in the ${where}`);
    }
    assert.match(lines.join(''), /webhook delivery attempt failed/, 'the failure itself was logged');
  });
});
