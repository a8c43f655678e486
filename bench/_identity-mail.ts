// Part 1 of `npm run bench -- identity`: inbound mail throughput on one SMTP connection. Strata
// (accepted, authenticated with SPF/DKIM/DMARC against in-memory DNS, parsed, threaded and stored in
// SQLite) vs a bare smtp-server + mailparser sink. Both receive the same DKIM-signed messages, each
// on its own pooled nodemailer connection, after an untimed warm-up of both, in alternating batches,
// so neither side is measured cold nor alone in a quiet (or busy) spell of a shared machine.
// Target: Strata >= 50% of the sink.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { Mail, memoryResolver, smtpSink } from '../src/identity/mail/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { round } from './_util.ts';

export const MAIL_TARGET = 0.5;
const BATCH = 50;
const WARMUP = 100;

export interface MailFigures {
  readonly n: number;
  readonly sinkMsgsPerSec: number;
  readonly strataMsgsPerSec: number;
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
  readonly threads: number;
  readonly authenticated: boolean;
}

type PemKey = { publicKey: Buffer; privateKey: string };

// Ten conversations of n/10 messages, each a reply to the previous one, signed once up front;
// `tag` keeps the Message-IDs of two sets apart.
async function buildMessages(n: number, key: PemKey, tag = ''): Promise<Buffer[]> {
  const signer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const conversation = i % 10;
    const step = Math.floor(i / 10);
    const info = await signer.sendMail({
      from: 'alice@remote.example',
      to: 'agent@strata.example',
      subject: `${step === 0 ? '' : 'Re: '}Conversation ${conversation}`,
      text: `Message ${i}. ${'Lorem ipsum dolor sit amet. '.repeat(20)}`,
      messageId: `<${tag}c${conversation}-${step}@remote.example>`,
      ...(step > 0 ? { inReplyTo: `<${tag}c${conversation}-${step - 1}@remote.example>` } : {}),
      dkim: { domainName: 'remote.example', keySelector: 'rk', privateKey: key.privateKey },
    });
    out.push(info.message as Buffer);
  }
  return out;
}

/** One pooled SMTP connection to `port`, kept open across batches. */
const connection = (port: number) =>
  createTransport({
    host: '127.0.0.1',
    port,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
  });

/** Sends `messages` one after the other to `rcpt`; milliseconds taken. */
async function send(
  transport: ReturnType<typeof connection>,
  messages: readonly Buffer[],
  rcpt = 'agent@strata.example',
): Promise<number> {
  const started = performance.now();
  for (const raw of messages) {
    await transport.sendMail({ envelope: { from: 'alice@remote.example', to: [rcpt] }, raw });
  }
  return performance.now() - started;
}

export async function benchMail(n: number): Promise<MailFigures> {
  const key = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const resolver = memoryResolver({
    'remote.example TXT': ['v=spf1 ip4:127.0.0.1 -all'],
    'rk._domainkey.remote.example TXT': [`v=DKIM1; k=rsa; p=${key.publicKey.toString('base64')}`],
    '_dmarc.remote.example TXT': ['v=DMARC1; p=reject'],
  });
  const messages = await buildMessages(n, key);
  const warmUp = await buildMessages(WARMUP, key, 'warm-');

  const sink = await smtpSink(async (m) => {
    await simpleParser(m.raw);
  });
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-mail-'));
  const store = await createSqliteStore({ path: join(dir, 'mail.db') });
  const mail = await Mail.open({
    store,
    masterKey: randomBytes(32),
    hostname: 'mx.strata.example',
    resolver,
  });
  const box = await mail.createMailbox({ tenant: 'bench', agent: 'a1', address: 'agent@strata.example' });
  await mail.createMailbox({ tenant: 'bench', agent: 'a2', address: 'warm@strata.example' });
  const server = await mail.listen({ port: 0 });
  const toSink = connection(sink.port);
  const toStrata = connection(server.port);
  // Untimed warm-up of both (JIT, connections), into another mailbox on Strata's side.
  await send(toSink, warmUp, 'warm@strata.example');
  await send(toStrata, warmUp, 'warm@strata.example');
  // Alternate batches (each side gets every message, in order) so drift on a shared machine hits
  // both sides alike.
  let sinkMs = 0;
  let strataMs = 0;
  for (let i = 0; i < messages.length; i += BATCH) {
    const batch = messages.slice(i, i + BATCH);
    sinkMs += await send(toSink, batch);
    strataMs += await send(toStrata, batch);
  }
  toSink.close();
  toStrata.close();
  await sink.close();
  await server.close();
  const sinkRate = (n * 1000) / sinkMs;
  const strataRate = (n * 1000) / strataMs;
  const stored = await mail.list({ tenant: 'bench', mailbox: box.id, limit: 200 });
  const threads = await mail.threads('bench', box.id, 100);
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const ratio = strataRate / sinkRate;
  return {
    n,
    sinkMsgsPerSec: round(sinkRate, 1),
    strataMsgsPerSec: round(strataRate, 1),
    ratio: round(ratio, 3),
    target: `>= ${MAIL_TARGET}`,
    met: ratio >= MAIL_TARGET,
    threads: threads.length,
    authenticated: stored.every((m) => m.authenticated),
  };
}
