/**
 * @module cli/commands/mail
 * `strata mail mailboxes create|ls`, `send`, `ls`, `show`, `threads`, `codes`, `wait` and
 * `webhooks add|ls|rm|deliveries`: the `mail.*` syscalls in process, as the caller's key or token
 * (grants checked, every call audited). `--json` prints the syscall's answer; a failure exits with
 * its error code's status (E_NOT_FOUND, E_WAIT_TIMEOUT, …). A webhook's secret is printed once, by
 * `webhooks add`.
 */
import type { Command } from 'commander';
import { table } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { callAs, print, withAuth, type AuthOptions } from './call-input.ts';

type Mailbox = { id: string; agent: string; address: string; createdAt: string };
type Message = {
  id: string;
  direction: string;
  status: string;
  subject: string;
  from: { address: string };
  to: string[];
  receivedAt: string;
  threadId: string;
  text: string;
  flags: string[];
};
type Webhook = { id: string; url: string; mailboxId: string | null; events: string[]; secret?: string };
type Delivery = {
  id: string;
  eventSeq: number;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
};

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Calls syscalls as the caller, printing each answer (JSON with --json, else `human`). */
const as =
  (command: Command, auth: AuthOptions) =>
  async <T>(syscall: string, input: Record<string, unknown>, human: (out: T) => string): Promise<void> => {
    const out = (await callAs(command, auth, syscall, input)) as T;
    print(command, out, () => human(out));
  };

const messageRows = (messages: Message[]): string =>
  messages.length === 0
    ? 'no messages'
    : table(
        ['ID', 'DIR', 'STATUS', 'FROM', 'SUBJECT', 'AT'],
        messages.map((m) => [
          m.id,
          m.direction,
          m.status,
          m.from.address,
          m.subject.slice(0, 60),
          m.receivedAt,
        ]),
      );

const describe = (m: Message): string =>
  [
    `id       ${m.id}`,
    `thread   ${m.threadId}`,
    `from     ${m.from.address}`,
    `to       ${m.to.join(', ')}`,
    `subject  ${m.subject}`,
    `status   ${m.status}${m.flags.length ? ` (${m.flags.join(', ')})` : ''}`,
    '',
    m.text,
  ].join('\n');

function registerMailboxes(mail: Command): void {
  const boxes = mail.command('mailboxes').description('agent mailboxes');
  withAuth(boxes.command('create').description('create a mailbox for an agent'))
    .argument('<agent>', 'agent id or name')
    .argument('<address>', 'the mailbox address')
    .option('--name <displayName>', 'display name in From')
    .action(async (agent: string, address: string, o: AuthOptions & { name?: string }, command: Command) => {
      const input = { agent, address, ...(o.name ? { displayName: o.name } : {}) };
      await as(command, o)<Mailbox>('mail.mailboxes.create', input, (m) => `${m.id} ${m.address}`);
    });
  withAuth(boxes.command('ls').description('your tenant’s mailboxes'))
    .option('--agent <agent>', 'only this agent’s')
    .action(async (o: AuthOptions & { agent?: string }, command: Command) => {
      await as(command, o)<{ mailboxes: Mailbox[] }>(
        'mail.mailboxes.list',
        o.agent ? { agent: o.agent } : {},
        (r) =>
          r.mailboxes.length === 0
            ? 'no mailboxes'
            : table(
                ['ID', 'AGENT', 'ADDRESS', 'CREATED'],
                r.mailboxes.map((m) => [m.id, m.agent, m.address, m.createdAt]),
              ),
      );
    });
}

function registerWebhooks(mail: Command): void {
  const hooks = mail.command('webhooks').description('webhooks for mail events, signed (Standard Webhooks)');
  withAuth(hooks.command('add').description('register a webhook; its secret is printed once'))
    .argument('<url>', 'https URL receiving POSTs')
    .option('--mailbox <mailbox>', 'only this mailbox’s events')
    .option('--event <type>', 'message.received, message.sent or message.failed (repeatable)', collect)
    .action(
      async (url: string, o: AuthOptions & { mailbox?: string; event?: string[] }, command: Command) => {
        const input = {
          url,
          ...(o.mailbox ? { mailbox: o.mailbox } : {}),
          ...(o.event ? { events: o.event } : {}),
        };
        await as(command, o)<Webhook>(
          'mail.webhooks.create',
          input,
          (w) => `${w.id} ${w.url}\nsecret ${w.secret ?? ''}\n(shown once: keep it to verify signatures)`,
        );
      },
    );
  withAuth(hooks.command('ls').description('your tenant’s webhooks')).action(
    async (o: AuthOptions, command: Command) => {
      await as(command, o)<{ webhooks: Webhook[] }>('mail.webhooks.list', {}, (r) =>
        r.webhooks.length === 0
          ? 'no webhooks'
          : table(
              ['ID', 'URL', 'MAILBOX', 'EVENTS'],
              r.webhooks.map((w) => [w.id, w.url, w.mailboxId ?? '*', w.events.join(',')]),
            ),
      );
    },
  );
  withAuth(hooks.command('rm').description('delete a webhook and its pending deliveries'))
    .argument('<id>')
    .action(async (id: string, o: AuthOptions, command: Command) => {
      await as(command, o)<{ id: string }>('mail.webhooks.delete', { id }, (r) => `deleted ${r.id}`);
    });
  withAuth(hooks.command('deliveries').description('a webhook’s deliveries and their attempts'))
    .argument('<id>')
    .option('--status <status>', 'pending, delivered or failed')
    .option('--limit <n>', 'how many', parseInteger, 50)
    .action(async (id: string, o: AuthOptions & { status?: string; limit: number }, command: Command) => {
      const input = { id, limit: o.limit, ...(o.status ? { status: o.status } : {}) };
      await as(command, o)<{ deliveries: Delivery[] }>('mail.webhooks.deliveries', input, (r) =>
        r.deliveries.length === 0
          ? 'no deliveries'
          : table(
              ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'ERROR'],
              r.deliveries.map((d) => [
                d.id,
                String(d.eventSeq),
                d.status,
                String(d.attempts),
                d.lastStatus === null ? '-' : String(d.lastStatus),
                d.lastError ?? '',
              ]),
            ),
      );
    });
}

export function registerMail(program: Command): void {
  const mail = program.command('mail').description('mailboxes: send, read, threads, codes, wait, webhooks');
  registerMailboxes(mail);

  withAuth(mail.command('send').description('send a plain-text message from a mailbox'))
    .argument('<mailbox>', 'mailbox id or address')
    .requiredOption('--to <address>', 'recipient (repeatable)', collect)
    .requiredOption('--subject <subject>')
    .option('--text <text>', 'the body', '')
    .option('--reply-to <id>', 'the message (msg_…) this answers')
    .action(
      async (
        mailbox: string,
        o: AuthOptions & { to: string[]; subject: string; text: string; replyTo?: string },
        command: Command,
      ) => {
        const input = {
          mailbox,
          to: o.to,
          subject: o.subject,
          text: o.text,
          ...(o.replyTo ? { inReplyTo: o.replyTo } : {}),
        };
        await as(command, o)<Message>('mail.send', input, (m) => `${m.id} ${m.status}`);
      },
    );

  withAuth(mail.command('ls').description('a mailbox’s messages, newest first'))
    .argument('<mailbox>', 'mailbox id or address')
    .option('--thread <id>', 'only this thread')
    .option('--limit <n>', 'how many', parseInteger, 50)
    .action(
      async (mailbox: string, o: AuthOptions & { thread?: string; limit: number }, command: Command) => {
        const input = { mailbox, limit: o.limit, ...(o.thread ? { thread: o.thread } : {}) };
        await as(command, o)<{ messages: Message[] }>('mail.list', input, (r) => messageRows(r.messages));
      },
    );

  withAuth(mail.command('show').description('one message'))
    .argument('<id>', 'message id (msg_…)')
    .action(async (id: string, o: AuthOptions, command: Command) => {
      await as(command, o)<Message>('mail.get', { id }, describe);
    });

  withAuth(mail.command('threads').description('a mailbox’s threads, most recent first'))
    .argument('<mailbox>', 'mailbox id or address')
    .action(async (mailbox: string, o: AuthOptions, command: Command) => {
      type Thread = { id: string; subject: string; messageCount: number; lastAt: string };
      await as(command, o)<{ threads: Thread[] }>('mail.threads', { mailbox }, (r) =>
        r.threads.length === 0
          ? 'no threads'
          : table(
              ['ID', 'MESSAGES', 'LAST', 'SUBJECT'],
              r.threads.map((t) => [t.id, String(t.messageCount), t.lastAt, t.subject.slice(0, 60)]),
            ),
      );
    });

  withAuth(mail.command('codes').description('one-time codes and links of a message'))
    .argument('<id>', 'message id (msg_…)')
    .action(async (id: string, o: AuthOptions, command: Command) => {
      type Codes = { codes: { code: string }[]; links: { url: string }[]; authenticated: boolean };
      await as(command, o)<Codes>(
        'mail.extract_codes',
        { id },
        (r) =>
          [
            ...r.codes.map((c) => `code ${c.code}`),
            ...r.links.map((l) => `link ${l.url}`),
            ...(r.authenticated ? [] : ['(unauthenticated sender)']),
          ].join('\n') || 'no codes or links',
      );
    });

  withAuth(
    mail.command('wait').description('wait for a matching inbound message (E_WAIT_TIMEOUT when none came)'),
  )
    .argument('<mailbox>', 'mailbox id or address')
    .option('--from <address>', 'sender address or @domain')
    .option('--subject <words>', 'words the subject contains')
    .option('--thread <id>', 'a thread id')
    .option('--since <time>', 'ISO time: messages received since then count too (default: now)')
    .option('--timeout <seconds>', 'at most 120', parseInteger, 60)
    .action(
      async (
        mailbox: string,
        o: AuthOptions & {
          from?: string;
          subject?: string;
          thread?: string;
          since?: string;
          timeout: number;
        },
        command: Command,
      ) => {
        const input = {
          mailbox,
          timeoutMs: o.timeout * 1000,
          ...(o.from ? { from: o.from } : {}),
          ...(o.subject ? { subject: o.subject } : {}),
          ...(o.thread ? { thread: o.thread } : {}),
          ...(o.since ? { since: o.since } : {}),
        };
        await as(command, o)<Message>('mail.wait_for', input, describe);
      },
    );

  registerWebhooks(mail);
}
