// Inbound mail throughput on one SMTP connection: Strata (accepted, authenticated with SPF/DKIM/DMARC
// against in-memory DNS, parsed, threaded and stored in SQLite) vs a bare smtp-server + mailparser
// sink. Both receive the same DKIM-signed messages from one pooled nodemailer connection, one after
// the other. Target: Strata >= 50% of the sink. `npm run bench -- identity-mail [--n 1000]`
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { Mail, memoryResolver, smtpSink } from '../src/identity/mail/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { round, table } from './_util.ts';

const argN = process.argv.indexOf('--n');
const N = argN === -1 ? 1000 : Number(process.argv[argN + 1]);
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

// Ten conversations of N/10 messages, each a reply to the previous one, signed once up front.
async function buildMessages(): Promise<Buffer[]> {
  const signer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const out: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const conversation = i % 10;
    const step = Math.floor(i / 10);
    const info = await signer.sendMail({
      from: 'alice@remote.example',
      to: 'agent@strata.example',
      subject: `${step === 0 ? '' : 'Re: '}Conversation ${conversation}`,
      text: `Message ${i}. ${'Lorem ipsum dolor sit amet. '.repeat(20)}`,
      messageId: `<c${conversation}-${step}@remote.example>`,
      ...(step > 0 ? { inReplyTo: `<c${conversation}-${step - 1}@remote.example>` } : {}),
      dkim: { domainName: 'remote.example', keySelector: 'rk', privateKey: key.privateKey },
    });
    out.push(info.message as Buffer);
  }
  return out;
}

async function pump(port: number, messages: readonly Buffer[]): Promise<number> {
  const transport = createTransport({
    host: '127.0.0.1',
    port,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
  });
  const started = performance.now();
  for (const raw of messages) {
    await transport.sendMail({
      envelope: { from: 'alice@remote.example', to: ['agent@strata.example'] },
      raw,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return messages.length / seconds;
}

const messages = await buildMessages();

const sink = await smtpSink(async (m) => {
  await simpleParser(m.raw);
});
const sinkRate = await pump(sink.port, messages);
await sink.close();

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-mail-'));
const store = await createSqliteStore({ path: join(dir, 'mail.db') });
const mail = await Mail.open({ store, masterKey: randomBytes(32), hostname: 'mx.strata.example', resolver });
const box = await mail.createMailbox({ tenant: 'bench', agent: 'a1', address: 'agent@strata.example' });
const server = await mail.listen({ port: 0 });
const strataRate = await pump(server.port, messages);
await server.close();
const stored = await mail.list({ tenant: 'bench', mailbox: box.id, limit: 200 });
const threads = await mail.threads('bench', box.id, 100);
const authenticated = stored.every((m) => m.authenticated);
await store.close();
rmSync(dir, { recursive: true, force: true });

const ratio = strataRate / sinkRate;
process.stdout.write(
  `${table([
    ['receiver (one connection)', 'msg/s'],
    ['smtp-server + mailparser sink', sinkRate],
    ['Strata: accept + SPF/DKIM/DMARC + thread + store (SQLite)', strataRate],
    ['ratio (target >= 0.50)', ratio],
  ])}\n`,
);
process.stdout.write(
  `messages ${N}, threads ${threads.length} (expected 10), last 200 authenticated: ${authenticated}\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'identity-mail',
    n: N,
    sinkMsgsPerSec: round(sinkRate, 1),
    strataMsgsPerSec: round(strataRate, 1),
    ratio: round(ratio, 3),
    threads: threads.length,
    authenticated,
  })}\n`,
);
