/**
 * `strata mail` as a user runs it, against a data directory and a relay (an SMTP sink on loopback):
 * mailboxes create and ls, send (the sink receives it), ls / show / threads / codes of a delivered
 * message, wait (a stored match since a time; a timeout exits with E_WAIT_TIMEOUT's status),
 * webhooks add (secret shown once) / ls (no secret) / deliveries / rm, a private URL refused with
 * the usage status, and an unknown message with the not-found status; --json on each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonOf, seedAdminKey, tempCli } from '../src/cli/testing.ts';
import { rawMessage, smtpSink } from '../src/identity/index.ts';
import { configSchema, EXIT, ERROR_CODES } from '../src/kernel/index.ts';
import { openRuntime } from '../src/server/runtime.ts';

void describe('strata mail', () => {
  const cli = tempCli();
  let env: Record<string, string>;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  const mailConfig = { hostname: 'mx.strata.test', domains: ['agents.test'] };

  before(async () => {
    sink = await smtpSink();
    env = {
      ...(await seedAdminKey(cli.dataDir)),
      STRATA_MAIL_HOSTNAME: mailConfig.hostname,
      STRATA_MAIL_RELAY_URL: `smtp://127.0.0.1:${sink.port}`,
    };
  });
  after(async () => {
    await sink.close();
    cli.dispose();
  });

  /** Delivers a message in process, as the SMTP server would. */
  const deliver = async (subject: string, text: string): Promise<string> => {
    const runtime = await openRuntime({
      config: configSchema.parse({ dataDir: cli.dataDir, mail: mailConfig }),
    });
    try {
      const [message] = await runtime.identity.mail.deliver(
        {
          mailFrom: 'noreply@service.test',
          recipients: ['bot@agents.test'],
          remoteAddress: '127.0.0.1',
          helo: 's',
        },
        rawMessage({ from: 'noreply@service.test', to: ['bot@agents.test'], subject, text }),
      );
      return message?.id ?? '';
    } finally {
      await runtime.close();
    }
  };

  void it('creates and lists mailboxes, sends, reads, threads and extracts codes', async () => {
    const box = await cli.json<{ id: string; address: string }>(
      ['mail', 'mailboxes', 'create', 'bot', 'bot@agents.test'],
      { env },
    );
    assert.equal(box.address, 'bot@agents.test');
    const ls = await cli.run(['mail', 'mailboxes', 'ls'], { env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /bot@agents\.test/);
    const sent = await cli.json<{ id: string; status: string }>(
      [
        'mail',
        'send',
        'bot@agents.test',
        '--to',
        'someone@remote.test',
        '--subject',
        'hello',
        '--text',
        'hi there',
      ],
      { env },
    );
    assert.equal(sent.status, 'sent');
    assert.equal(sink.received.length, 1);
    const id = await deliver('Your code', 'Your verification code is 774411.');
    const list = await cli.json<{ messages: { id: string }[] }>(['mail', 'ls', 'bot@agents.test'], { env });
    assert.deepEqual(
      list.messages.map((m) => m.id),
      [id, sent.id],
    );
    const show = await cli.run(['mail', 'show', id], { env });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /774411/);
    const threads = await cli.json<{ threads: unknown[] }>(['mail', 'threads', box.id], { env });
    assert.equal(threads.threads.length, 2);
    const codes = await cli.run(['mail', 'codes', id], { env });
    assert.match(codes.stdout, /^code 774411$/m);
    const missing = await cli.run(['mail', 'show', 'msg_nope', '--json'], { env });
    assert.equal(missing.code, EXIT.notFound);
    assert.equal(jsonOf<{ error: { code: string } }>(missing).error.code, 'E_NOT_FOUND');
  });

  void it('waits: a stored match since a time returns it; nothing within the timeout exits E_WAIT_TIMEOUT', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const id = await deliver('Sign-in link', 'Click here.');
    const found = await cli.json<{ id: string }>(
      ['mail', 'wait', 'bot@agents.test', '--subject', 'sign-in', '--since', since, '--timeout', '5'],
      { env },
    );
    assert.equal(found.id, id);
    const timeout = await cli.run(
      ['mail', 'wait', 'bot@agents.test', '--from', 'nobody@x.test', '--timeout', '1', '--json'],
      {
        env,
      },
    );
    assert.equal(jsonOf<{ error: { code: string } }>(timeout).error.code, 'E_WAIT_TIMEOUT');
    assert.equal(timeout.code, ERROR_CODES.E_WAIT_TIMEOUT.exit);
  });

  void it('adds webhooks (secret once), lists them without it, shows deliveries, removes them', async () => {
    const hook = await cli.json<{ id: string; secret: string }>(
      [
        'mail',
        'webhooks',
        'add',
        'https://hooks.example.com/mail',
        '--event',
        'message.received',
        '--mailbox',
        'bot@agents.test',
      ],
      { env },
    );
    assert.match(hook.secret, /^whsec_/);
    const ls = await cli.run(['mail', 'webhooks', 'ls', '--json'], { env });
    assert.equal(ls.code, 0);
    assert.ok(ls.stdout.includes(hook.id) && !ls.stdout.includes(hook.secret));
    await deliver('for the hook', 'x');
    const deliveries = await cli.json<{ deliveries: { status: string }[] }>(
      ['mail', 'webhooks', 'deliveries', hook.id],
      { env },
    );
    assert.equal(deliveries.deliveries.length, 1, 'queued with the message');
    const refused = await cli.run(['mail', 'webhooks', 'add', 'http://127.0.0.1:9/x', '--json'], { env });
    assert.equal(refused.code, EXIT.usage);
    assert.equal(jsonOf<{ error: { code: string } }>(refused).error.code, 'E_INVALID_INPUT');
    assert.equal((await cli.run(['mail', 'webhooks', 'rm', hook.id], { env })).code, 0);
    const gone = await cli.run(['mail', 'webhooks', 'deliveries', hook.id], { env });
    assert.equal(gone.code, EXIT.notFound);
  });
});
