/**
 * @module identity/mail/chaos-relay
 * Realises chaos's `smtp_451` fault (kernel/chaos) with a real SMTP dialogue: the send goes to a
 * one-shot relay on loopback that answers every RCPT TO with `451 4.3.0` (try again later), so
 * nodemailer raises the refusal a busy or greylisting relay would, and the mail service stores the
 * message as failed and reports E_MAIL_SEND_FAILED exactly as it does for a real relay's 451.
 */
import type { AddressInfo } from 'node:net';

/** Runs `send` against a loopback relay that refuses every recipient with 451; closes it after. */
export async function withRefusingRelay<T>(send: (port: number) => Promise<T>): Promise<T> {
  const { SMTPServer } = await import('smtp-server'); // only when the fault is injected
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo: (_address, _session, callback) => {
      const refusal = Object.assign(new Error('4.3.0 Try again later (injected fault)'), {
        responseCode: 451,
      });
      callback(refusal);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    return await send((server.server.address() as AddressInfo).port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
