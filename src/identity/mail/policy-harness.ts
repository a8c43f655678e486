/**
 * A real mail setup for the policy tests: a store of either engine, the mail service with its
 * policy extension, the inbound SMTP server on a free loopback port (reached with nodemailer) and
 * an SMTP sink as the outbound relay. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { Clock, Store } from '../../kernel/index.ts';
import type { StoreHandle } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import type { LoopOptions } from './auto-reply.ts';
import type { MailExtension } from './extensions.ts';
import { Mail } from './mail.ts';
import { MailPolicy } from './policy.ts';
import type { Mailbox } from './repo.ts';
import type { RunningSmtpServer } from './smtp.ts';
import { smtpSink } from './testing.ts';

export interface PolicyHarness {
  readonly store: Store;
  readonly mail: Mail;
  readonly policy: MailPolicy;
  readonly sink: Awaited<ReturnType<typeof smtpSink>>;
  readonly smtp: RunningSmtpServer;
  mailbox(address: string, tenant?: string): Promise<Mailbox>;
  /** Sends a message to the inbound SMTP server; resolves with nodemailer's info. */
  sendIn(message: Record<string, unknown>): Promise<{ accepted: unknown[]; rejected: unknown[] }>;
  /** The SMTP reply code when the inbound server refuses `message`; fails when it accepts. */
  refusedIn(message: Record<string, unknown>): Promise<number | undefined>;
  /** Rows in a table, optionally filtered by `where` (SQL with `?` params). */
  count(table: string, where?: string, params?: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

export async function openPolicyHarness(
  handle: StoreHandle,
  options: {
    clock?: Clock;
    loop?: Partial<LoopOptions>;
    /** Extensions whose hooks run before the policy's (a test barrier, say). */
    before?: readonly MailExtension[];
  } = {},
): Promise<PolicyHarness> {
  const store = await handle.open();
  const sink = await smtpSink();
  const clock = options.clock ? { clock: options.clock } : {};
  const mail = await Mail.open({
    store,
    masterKey: randomBytes(32),
    hostname: 'mx.strata.example',
    relay: { host: '127.0.0.1', port: sink.port },
    resolver: memoryResolver({}),
    ...clock,
  });
  const policy = await MailPolicy.open({ store, ...clock, ...(options.loop ? { loop: options.loop } : {}) });
  for (const extension of options.before ?? []) mail.use(extension);
  mail.use(policy);
  const smtp = await mail.listen({ port: 0 });
  const transport = createTransport({ host: '127.0.0.1', port: smtp.port, ignoreTLS: true });
  const sendIn = (message: Record<string, unknown>) => transport.sendMail(message);
  return {
    store,
    mail,
    policy,
    sink,
    smtp,
    mailbox: (address, tenant = 'acme') =>
      mail.createMailbox({ tenant, agent: address.split('@')[0] ?? 'a', address }),
    sendIn,
    refusedIn: async (message) => {
      const error = await sendIn(message).then(
        () => undefined,
        (e: unknown) => e as { responseCode?: number },
      );
      if (!error) throw new Error('the inbound server accepted a message it should have refused');
      return error.responseCode;
    },
    count: async (table, where, params = []) => {
      const row = await store.get<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ''}`,
        params,
      );
      return Number(row?.n ?? 0);
    },
    close: async () => {
      transport.close();
      await smtp.close();
      await sink.close();
      await store.close();
    },
  };
}
