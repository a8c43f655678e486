/**
 * Outbound mail: the message is composed and DKIM-signed with nodemailer into exact bytes (stored
 * by hash before anything leaves), then those bytes go to the configured relay with an explicit
 * envelope. Every address reaching nodemailer here was validated by Strata first (see address.ts).
 * Under chaos, a send chosen for `smtp_451` meets a relay that answers 451 (chaos-relay.ts).
 */
import { takeChaosFault } from '../../kernel/index.ts';
import { withRefusingRelay } from './chaos-relay.ts';
import type { DkimKey } from './dkim.ts';

export interface RelayOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (port 465). @default false */
  readonly secure?: boolean;
  /** Refuse to send without STARTTLS. @default false */
  readonly requireTLS?: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Name sent in EHLO. @default the mail hostname */
  readonly name?: string;
  /** @default 30_000 */
  readonly timeoutMs?: number;
}

export interface OutgoingMessage {
  readonly from: { readonly address: string; readonly name: string | null };
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  /** Without angle brackets. */
  readonly messageId: string;
  readonly inReplyTo: string | null;
  readonly references: readonly string[];
  readonly date: Date;
}

const bracket = (id: string): string => `<${id}>`;

/** The message as RFC 5322 bytes with CRLF line ends, DKIM-signed with the sender domain's key. */
export async function composeSigned(message: OutgoingMessage, key: DkimKey): Promise<Buffer> {
  // nodemailer (~40 modules) is loaded by the first send, not with the mail layer, which every CLI
  // command and worker process opens.
  const { createTransport } = await import('nodemailer');
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await composer.sendMail({
    from: message.from.name
      ? { name: message.from.name, address: message.from.address }
      : message.from.address,
    to: [...message.to],
    subject: message.subject,
    text: message.text,
    messageId: bracket(message.messageId),
    date: message.date,
    ...(message.inReplyTo ? { inReplyTo: bracket(message.inReplyTo) } : {}),
    ...(message.references.length > 0 ? { references: message.references.map(bracket) } : {}),
    dkim: { domainName: key.domain, keySelector: key.selector, privateKey: key.privateKey },
  });
  return info.message as Buffer;
}

/** Hands signed bytes to the relay; resolves with the relay's reply, throws its refusal. */
export async function relay(
  options: RelayOptions & { hostname: string },
  envelope: { from: string; to: readonly string[] },
  raw: Buffer,
): Promise<string> {
  if (takeChaosFault('identity', 'smtp_451'))
    return withRefusingRelay((port) =>
      relay({ host: '127.0.0.1', port, hostname: options.hostname, timeoutMs: 5_000 }, envelope, raw),
    );
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    requireTLS: options.requireTLS ?? false,
    name: options.name ?? options.hostname,
    connectionTimeout: options.timeoutMs ?? 30_000,
    socketTimeout: options.timeoutMs ?? 30_000,
    ...(options.auth ? { auth: { user: options.auth.user, pass: options.auth.pass } } : {}),
  });
  try {
    const info = await transport.sendMail({ envelope: { from: envelope.from, to: [...envelope.to] }, raw });
    return info.response;
  } finally {
    transport.close();
  }
}
