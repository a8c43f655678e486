/**
 * The inbound SMTP server (smtp-server) in front of {@link acceptInbound}. smtp-server announces
 * its SIZE limit but does not enforce it: the data stream only flags `sizeExceeded`, so the message
 * is refused here with 552 and nothing stored. Unknown recipients are refused at RCPT with 550;
 * `maxClients` caps concurrent connections (421 beyond it).
 */
import type { AddressInfo } from 'node:net';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { isStrataError } from '../../kernel/index.ts';
import type { Mailbox } from './repo.ts';

export interface SmtpServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly hostname: string;
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly findMailbox: (address: string) => Promise<Mailbox | undefined>;
  readonly deliver: (
    envelope: { mailFrom: string; mailboxes: Mailbox[]; remoteAddress: string; helo: string },
    raw: Buffer,
  ) => Promise<unknown>;
}

export interface RunningSmtpServer {
  readonly port: number;
  close(): Promise<void>;
}

const smtpError = (responseCode: number, message: string): Error =>
  Object.assign(new Error(message), { responseCode });

/** Maps a refusal to an SMTP reply: permanent for the message's own faults, temporary otherwise. */
function replyFor(error: unknown): Error {
  if (isStrataError(error)) {
    if (error.code === 'E_MAIL_TOO_LARGE') return smtpError(552, `5.3.4 ${error.message}`);
    if (error.code === 'E_MAIL_LOOP') return smtpError(554, `5.4.6 ${error.message}`);
    if (error.code === 'E_MAIL_BLOCKED') return smtpError(550, `5.7.1 ${error.message}`);
  }
  return smtpError(451, '4.3.0 temporary failure, try again later');
}

async function readCapped(stream: SMTPServerDataStream, cap: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining past the cap (the client is still sending) but stop buffering.
    if (size <= cap) chunks.push(chunk);
  }
  return stream.sizeExceeded || size > cap ? undefined : Buffer.concat(chunks);
}

/** Starts listening; resolves once the port is bound. */
export async function startSmtpServer(options: SmtpServerOptions): Promise<RunningSmtpServer> {
  // Mailboxes found at RCPT, by address; DATA delivers to the current transaction's recipients only.
  const found = new WeakMap<SMTPServerSession, Map<string, Mailbox>>();
  // Loaded when a server starts (`strata up` with mail on), not with the mail layer.
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    name: options.hostname,
    banner: 'Strata',
    size: options.maxMessageBytes,
    maxClients: options.maxConnections,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, session, callback) {
      options.findMailbox(address.address.toLowerCase()).then(
        (mailbox) => {
          if (!mailbox) return callback(smtpError(550, `5.1.1 <${address.address}>: no such mailbox`));
          const known = found.get(session) ?? new Map<string, Mailbox>();
          found.set(session, known.set(mailbox.address, mailbox));
          callback();
        },
        () => callback(smtpError(451, '4.3.0 temporary failure, try again later')),
      );
    },
    onData(stream, session, callback) {
      const known = found.get(session);
      const addresses = new Set(session.envelope.rcptTo.map((r) => r.address.toLowerCase()));
      const mailboxes = [...addresses].flatMap((a) => known?.get(a) ?? []);
      readCapped(stream, options.maxMessageBytes)
        .then(async (raw) => {
          if (!raw) throw smtpError(552, `5.3.4 message exceeds the ${options.maxMessageBytes}-byte limit`);
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          await options.deliver(
            { mailFrom, mailboxes, remoteAddress: session.remoteAddress, helo: session.hostNameAppearsAs },
            raw,
          );
          callback();
        })
        .catch((error: unknown) => {
          callback(error instanceof Error && 'responseCode' in error ? error : replyFor(error));
        });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
