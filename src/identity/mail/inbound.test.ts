/**
 * Inbound refusals over real SMTP, each leaving nothing stored: unknown recipient (550 at RCPT),
 * oversized message (552), mail loop (554), oversized attachment and too many parts (552), the
 * connection cap (421); and bodies that must be stored safely (invalid UTF-8, NUL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, it } from 'node:test';
import { createTransport } from 'nodemailer';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Mail } from './mail.ts';
import type { RunningSmtpServer } from './smtp.ts';
import { rawMessage } from './testing.ts';

const LIMITS = {
  maxMessageBytes: 64 * 1024,
  maxAttachmentBytes: 8 * 1024,
  maxAttachments: 5,
  maxHops: 25,
  maxConnections: 2,
};

/** Sends each command after the previous reply; returns the replies (greeting first). */
async function smtpDialogue(port: number, commands: readonly string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  const replies: string[] = [];
  let buffer = '';
  let waiting: ((reply: string) => void) | undefined;
  socket.on('data', (d: Buffer) => {
    buffer += d.toString();
    // A complete reply ends with a line whose code is followed by a space.
    const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer);
    if (match && waiting) {
      const reply = buffer.slice(match.index + match[1]!.length);
      buffer = '';
      waiting(reply);
    }
  });
  const next = () => new Promise<string>((resolve) => (waiting = resolve));
  replies.push(await next());
  for (const command of commands) {
    const reply = next();
    socket.write(`${command}\r\n`);
    replies.push(await reply);
  }
  socket.destroy();
  return replies;
}

onEveryStore('inbound SMTP refusals and safe storage', (db) => {
  let store: Store;
  let mail: Mail;
  let server: RunningSmtpServer;

  const counts = async (): Promise<number[]> => {
    const out: number[] = [];
    for (const table of [
      'mail_messages',
      'mail_blobs',
      'mail_attachments',
      'mail_threads',
      'mail_thread_refs',
    ]) {
      const row = await store.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`);
      out.push(Number(row?.n));
    }
    return out;
  };
  const send = (message: Record<string, unknown>) =>
    createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true }).sendMail(message);
  const refusal = async (message: Record<string, unknown>): Promise<number | undefined> => {
    const error = await send(message).then(
      () => undefined,
      (e: unknown) => e as { responseCode?: number },
    );
    assert.ok(error, 'the server should have refused');
    return error.responseCode;
  };

  before(async () => {
    store = await db().open();
    mail = await Mail.open({
      store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.example',
      resolver: memoryResolver({}),
      limits: LIMITS,
    });
    await mail.createMailbox({ tenant: 'acme', agent: 'a1', address: 'inbox@strata.example' });
    server = await mail.listen({ port: 0 });
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  it('refuses an unknown recipient at RCPT with 550 and stores nothing', async () => {
    const before = await counts();
    const code = await refusal({
      from: 'a@remote.example',
      to: 'nobody@strata.example',
      subject: 'x',
      text: 'x',
    });
    assert.equal(code, 550);
    assert.deepEqual(await counts(), before);
  });

  it('delivers to the known recipient when another is unknown', async () => {
    const info = await send({
      from: 'a@remote.example',
      to: ['inbox@strata.example', 'nobody@strata.example'],
      subject: 'partial',
      text: 'x',
    });
    assert.deepEqual(info.accepted, ['inbox@strata.example']);
    assert.deepEqual(info.rejected, ['nobody@strata.example']);
  });

  it('answers 552 to an oversized message (no SIZE announced: the stream flag decides) and stores nothing', async () => {
    const before = await counts();
    const body = `Subject: big\r\n\r\n${'x'.repeat(100)}\r\n`.repeat(Math.ceil(LIMITS.maxMessageBytes / 100));
    const replies = await smtpDialogue(server.port, [
      'EHLO client.example',
      'MAIL FROM:<a@remote.example>',
      'RCPT TO:<inbox@strata.example>',
      'DATA',
      `${body}\r\n.`,
      'QUIT',
    ]);
    assert.match(replies[4] ?? '', /^354 /);
    assert.match(replies[5] ?? '', /^552 5.3.4 /);
    assert.deepEqual(await counts(), before);
  });

  it('refuses a mail loop (too many Received headers) with 554', async () => {
    const before = await counts();
    const headers = Array.from(
      { length: 26 },
      (_, i) => `Received: from hop${i}.example by hop${i + 1}.example`,
    );
    const raw = rawMessage({
      from: 'a@remote.example',
      to: ['inbox@strata.example'],
      subject: 'loop',
      headers,
    });
    const code = await refusal({ envelope: { from: 'a@remote.example', to: ['inbox@strata.example'] }, raw });
    assert.equal(code, 554);
    assert.deepEqual(await counts(), before);
  });

  it('refuses an oversized attachment and a MIME bomb of many parts with 552', async () => {
    const before = await counts();
    const big = await refusal({
      from: 'a@remote.example',
      to: 'inbox@strata.example',
      subject: 'attachment',
      text: 'see attached',
      attachments: [{ filename: 'big.bin', content: randomBytes(LIMITS.maxAttachmentBytes + 1) }],
    });
    assert.equal(big, 552);
    const many = await refusal({
      from: 'a@remote.example',
      to: 'inbox@strata.example',
      subject: 'parts',
      text: 'x',
      attachments: Array.from({ length: LIMITS.maxAttachments + 1 }, (_, i) => ({
        filename: `${i}.txt`,
        content: 'a',
      })),
    });
    assert.equal(many, 552);
    assert.deepEqual(await counts(), before);
  });

  it('stores attachments once by content hash', async () => {
    const content = randomBytes(1000);
    for (const subject of ['first', 'second']) {
      await send({
        from: 'a@remote.example',
        to: 'inbox@strata.example',
        subject,
        text: 'x',
        attachments: [{ filename: 'same.bin', content }],
      });
    }
    const [second, first] = await mail.list({ tenant: 'acme', mailbox: 'inbox@strata.example', limit: 2 });
    const a = (await mail.get('acme', first!.id)).attachments[0];
    const b = (await mail.get('acme', second!.id)).attachments[0];
    assert.equal(a?.size, 1000);
    assert.equal(a?.hash, b?.hash);
    const blobs = await store.get<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM mail_blobs WHERE hash = ?',
      [a.hash],
    );
    assert.equal(Number(blobs?.n), 1);
  });

  it('stores a body with invalid UTF-8 and NUL bytes safely', async () => {
    const head = rawMessage({
      from: 'a@remote.example',
      to: ['inbox@strata.example'],
      subject: 'bytes',
      text: '',
    });
    const raw = Buffer.concat([
      head,
      Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x21, 0x0d, 0x0a]),
    ]);
    const [stored] = await mail.deliver(
      {
        mailFrom: 'a@remote.example',
        recipients: ['inbox@strata.example'],
        remoteAddress: '192.0.2.1',
        helo: 'h',
      },
      raw,
    );
    const read = await mail.get('acme', stored!.id);
    assert.match(read.text, /ok \uFFFD\uFFFD\uFFFD\(\uFFFD!/, 'bad bytes and NUL become U+FFFD');
    assert.ok(!read.text.includes('\u0000'));
    assert.equal(read.size, raw.length);
  });

  it('caps concurrent connections (421 beyond the cap)', async () => {
    const open = () =>
      new Promise<{ greeting: string; close: () => void }>((resolve) => {
        const socket = connect(server.port, '127.0.0.1');
        socket.once('data', (d) => resolve({ greeting: d.toString(), close: () => socket.destroy() }));
      });
    const first = await open();
    const second = await open();
    const third = await open();
    assert.match(first.greeting, /^220/);
    assert.match(second.greeting, /^220/);
    assert.match(third.greeting, /^421/);
    for (const s of [first, second, third]) s.close();
  });
});
