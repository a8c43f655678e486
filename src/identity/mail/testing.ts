/**
 * Helpers for tests and benchmarks of the mail layer: a plain RFC 5322 message builder (no
 * signature) and a throwaway SMTP sink standing in for a remote server.
 */
import type { AddressInfo } from 'node:net';

export interface RawMessageSpec {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly subject: string;
  readonly messageId?: string;
  readonly inReplyTo?: string;
  readonly references?: readonly string[];
  readonly date?: Date;
  readonly text?: string;
  /** Extra header lines, written as given. */
  readonly headers?: readonly string[];
}

/** A minimal text/plain message with CRLF line ends. */
export function rawMessage(spec: RawMessageSpec): Buffer {
  const lines = [
    ...(spec.headers ?? []),
    `From: ${spec.from}`,
    `To: ${spec.to.join(', ')}`,
    ...(spec.cc?.length ? [`Cc: ${spec.cc.join(', ')}`] : []),
    `Subject: ${spec.subject}`,
    `Date: ${(spec.date ?? new Date('2026-03-01T10:00:00Z')).toUTCString()}`,
    ...(spec.messageId ? [`Message-ID: <${spec.messageId}>`] : []),
    ...(spec.inReplyTo ? [`In-Reply-To: <${spec.inReplyTo}>`] : []),
    ...(spec.references?.length ? [`References: ${spec.references.map((r) => `<${r}>`).join(' ')}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    spec.text ?? 'Hello.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

export interface SinkMessage {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly remoteAddress: string;
  readonly helo: string;
  readonly raw: Buffer;
}

/** An SMTP server on 127.0.0.1 that keeps what it receives; `onMessage` may process each one. */
export async function smtpSink(
  onMessage?: (message: SinkMessage) => Promise<void> | void,
): Promise<{ port: number; received: SinkMessage[]; close(): Promise<void> }> {
  const received: SinkMessage[] = [];
  const { SMTPServer } = await import('smtp-server'); // a test's sink; not loaded with the mail layer
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const message: SinkMessage = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: session.remoteAddress,
          helo: session.hostNameAppearsAs,
          raw: Buffer.concat(chunks),
        };
        received.push(message);
        Promise.resolve(onMessage?.(message)).then(
          () => callback(),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
