/**
 * The mail service: mailboxes, inbound delivery (SMTP or direct), outbound sending through a relay,
 * reading, threads and code extraction. Every read and write is scoped by tenant; the tenant always
 * comes from the caller (the syscalls take it from the principal).
 */
import { newId, StrataError, systemClock, type Clock, type Store } from '../../kernel/index.ts';
import { domainOf, validateAddress, validateHeaderText } from './address.ts';
import type { DNSResolver } from './auth.ts';
import { DkimKeys } from './dkim.ts';
import { extractCodes, type Extracted } from './extract.ts';
import { acceptInbound, type InboundLimits } from './inbound.ts';
import { MAIL_LAYER, mailMigrations } from './migrations.ts';
import { composeSigned, relay, type RelayOptions } from './outbound.ts';
import { RelayHealth, type RelayHealthOptions } from './relay-health.ts';
import * as repo from './repo.ts';
import { startSmtpServer, type RunningSmtpServer } from './smtp.ts';
import { MailWaiter } from './waiter.ts';
import { runHooks, type MailExtension } from './extensions.ts';

export interface MailOptions {
  readonly store: Store;
  /** 32 bytes sealing the DKIM private keys. */
  readonly masterKey: Buffer;
  /** This node's mail host name: EHLO, Authentication-Results, derived Message-IDs. */
  readonly hostname: string;
  /** Domains mailboxes may be created in. @default any */
  readonly domains?: readonly string[];
  /** Where outbound mail goes; without it `send` fails with E_CONFIG. */
  readonly relay?: RelayOptions;
  /** DNS for SPF/DKIM/DMARC. @default the system resolver */
  readonly resolver?: DNSResolver;
  readonly limits?: Partial<InboundLimits & { maxConnections: number }>;
  /** How long after a thread's last message the subject fallback may attach to it. @default 30 days */
  readonly threadWindowMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Thresholds of the relay's health reading. */
  readonly relayHealth?: RelayHealthOptions;
}

export const MAIL_DEFAULTS = {
  maxMessageBytes: 10 * 1024 * 1024,
  maxAttachmentBytes: 5 * 1024 * 1024,
  maxAttachments: 100,
  maxHops: 25,
  maxConnections: 50,
  threadWindowMs: 30 * 24 * 3600 * 1000,
} as const satisfies InboundLimits & { maxConnections: number; threadWindowMs: number };

export interface SendInput {
  readonly tenant: string;
  readonly mailboxId: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  /** A Strata message id (`msg_…`) in the same mailbox this replies to. */
  readonly inReplyTo?: string;
}

type MailboxRow = {
  id: string;
  tenant: string;
  agent: string;
  address: string;
  display_name: string | null;
  created_at: number;
};

const mailboxOf = (r: MailboxRow): repo.Mailbox => ({
  id: r.id,
  tenant: r.tenant,
  agent: r.agent,
  address: r.address,
  displayName: r.display_name,
  createdAt: r.created_at,
});

export class Mail {
  readonly store: Store;
  readonly dkim: DkimKeys;
  /** Waits for inbound mail (`mail.wait_for`, `waitForMail` in a durable run). */
  readonly waits: MailWaiter;
  /** The outcome of sends through the relay (relay-health.ts); undefined without a relay. */
  readonly relayHealth: RelayHealth | undefined;
  readonly #options: MailOptions;
  readonly #clock: Clock;
  readonly #limits: InboundLimits & { maxConnections: number };
  readonly #extensions: MailExtension[] = [];

  private constructor(options: MailOptions) {
    this.store = options.store;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#limits = { ...MAIL_DEFAULTS, ...options.limits };
    const relay = options.relay;
    this.relayHealth = relay
      ? new RelayHealth(`${relay.host}:${relay.port}`, { clock: this.#clock, ...options.relayHealth })
      : undefined;
    this.dkim = new DkimKeys({ store: options.store, masterKey: options.masterKey, clock: this.#clock });
    this.waits = new MailWaiter({
      store: options.store,
      clock: this.#clock,
      mailbox: (tenant, idOrAddress) => this.getMailbox(tenant, idOrAddress),
    });
  }

  /** Plugs in a feature (see extensions.ts); hooks run in the order extensions were added. */
  use(extension: MailExtension): this {
    this.#extensions.push(extension);
    return this;
  }

  /** Migrates the `mail` layer and returns the service. */
  static async open(options: MailOptions): Promise<Mail> {
    await options.store.migrate(MAIL_LAYER, mailMigrations);
    return new Mail(options);
  }

  /** Creates an agent's mailbox (and its domain's DKIM key on first use). */
  async createMailbox(input: {
    tenant: string;
    agent: string;
    address: string;
    displayName?: string;
  }): Promise<repo.Mailbox> {
    const address = validateAddress(input.address);
    const displayName = input.displayName ? validateHeaderText(input.displayName, 'displayName', 200) : null;
    const domain = domainOf(address);
    if (this.#options.domains && !this.#options.domains.includes(domain)) {
      throw new StrataError(
        'E_INVALID_INPUT',
        `mailboxes may only be created in ${this.#options.domains.join(', ')}`,
        {
          issues: [{ path: ['address'], message: `domain ${domain} is not configured` }],
        },
      );
    }
    await this.dkim.ensure(domain);
    const row: MailboxRow = {
      id: newId('mbx', this.#clock.now()),
      tenant: input.tenant,
      agent: input.agent,
      address,
      display_name: displayName,
      created_at: this.#clock.now(),
    };
    await this.store.run(
      'INSERT INTO mail_mailboxes (id, tenant, agent, address, display_name, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [row.id, row.tenant, row.agent, row.address, row.display_name, row.created_at],
    );
    return mailboxOf(row);
  }

  /** The tenant's mailboxes, optionally of one agent. */
  async listMailboxes(tenant: string, agent?: string): Promise<repo.Mailbox[]> {
    const rows = await this.store.all<MailboxRow>(
      `SELECT * FROM mail_mailboxes WHERE tenant = ?${agent ? ' AND agent = ?' : ''} ORDER BY id`,
      agent ? [tenant, agent] : [tenant],
    );
    return rows.map(mailboxOf);
  }

  /** A mailbox of the tenant by id or address; E_NOT_FOUND otherwise. */
  async getMailbox(tenant: string, idOrAddress: string): Promise<repo.Mailbox> {
    const row = await this.store.get<MailboxRow>(
      'SELECT * FROM mail_mailboxes WHERE tenant = ? AND (id = ? OR address = ?)',
      [tenant, idOrAddress, idOrAddress.toLowerCase()],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no mailbox ${idOrAddress}`, { mailbox: idOrAddress });
    return mailboxOf(row);
  }

  /** The mailbox receiving mail for an address, in any tenant (inbound routing). */
  async findMailbox(address: string): Promise<repo.Mailbox | undefined> {
    const row = await this.store.get<MailboxRow>('SELECT * FROM mail_mailboxes WHERE address = ?', [
      address.toLowerCase(),
    ]);
    return row ? mailboxOf(row) : undefined;
  }

  /**
   * Delivers raw bytes as if received over SMTP from `remoteAddress`: caps, authentication,
   * parsing, threading, storage. Recipients without a mailbox are skipped; E_NOT_FOUND when none has.
   */
  async deliver(
    envelope: { mailFrom: string; recipients: readonly string[]; remoteAddress: string; helo: string },
    raw: Buffer,
  ): Promise<repo.MailMessage[]> {
    const found = await Promise.all(envelope.recipients.map((r) => this.findMailbox(r)));
    const mailboxes = found.filter((m): m is repo.Mailbox => m !== undefined);
    if (mailboxes.length === 0) throw new StrataError('E_NOT_FOUND', 'no recipient has a mailbox here');
    return this.#accept({ ...envelope, mailboxes }, raw);
  }

  async #accept(
    envelope: { mailFrom: string; mailboxes: readonly repo.Mailbox[]; remoteAddress: string; helo: string },
    raw: Buffer,
  ): Promise<repo.MailMessage[]> {
    const stored = await acceptInbound(
      {
        store: this.store,
        limits: this.#limits,
        threading: { windowMs: this.#options.threadWindowMs ?? MAIL_DEFAULTS.threadWindowMs },
        hostname: this.#options.hostname,
        now: () => this.#clock.now(),
        screen: (mailbox, facts) => runHooks(this.#extensions, 'screenInbound', mailbox, facts),
        afterStore: async (tx, message, facts) => {
          await this.waits.fireIn(tx, message);
          await runHooks(this.#extensions, 'onStored', tx, message, facts);
        },
        ...(this.#options.resolver ? { resolver: this.#options.resolver } : {}),
      },
      envelope,
      raw,
    );
    await this.waits.afterDelivery();
    await runHooks(this.#extensions, 'afterDelivery', stored);
    return stored;
  }

  /** Starts the inbound SMTP server on `host` (default 127.0.0.1) and `port` (0: a free one). */
  listen(options: { port: number; host?: string }): Promise<RunningSmtpServer> {
    return startSmtpServer({
      ...options,
      hostname: this.#options.hostname,
      maxMessageBytes: this.#limits.maxMessageBytes,
      maxConnections: this.#limits.maxConnections,
      findMailbox: (address) => this.findMailbox(address),
      deliver: (envelope, raw) => this.#accept(envelope, raw),
    });
  }

  /**
   * Sends from a mailbox through the relay. Addresses, subject and display name are validated
   * before nodemailer sees them; the Message-ID is minted and the signed bytes stored (status
   * `sending`) before the relay is contacted; the status becomes `sent` or `failed`.
   */
  async send(input: SendInput): Promise<repo.MailMessage> {
    const to = input.to.map((a, i) => validateAddress(a, `to[${i}]`));
    if (to.length === 0) {
      throw new StrataError('E_MAIL_ADDRESS_INVALID', 'to: at least one recipient', {
        field: 'to',
        reason: 'syntax',
      });
    }
    const subject = validateHeaderText(input.subject, 'subject');
    const mailbox = await this.getMailbox(input.tenant, input.mailboxId);
    const name =
      mailbox.displayName === null ? null : validateHeaderText(mailbox.displayName, 'displayName', 200);
    const relayOptions = this.#options.relay;
    if (!relayOptions)
      throw new StrataError('E_CONFIG', 'no mail relay is configured', { key: 'mail.relay' });
    await runHooks(this.#extensions, 'screenOutbound', {
      tenant: input.tenant,
      mailbox,
      to,
      subject,
      text: input.text,
    });
    const parent = input.inReplyTo ? await this.get(input.tenant, input.inReplyTo) : undefined;
    if (parent && parent.mailboxId !== mailbox.id) {
      throw new StrataError('E_NOT_FOUND', `no message ${input.inReplyTo} in this mailbox`, {
        id: input.inReplyTo,
      });
    }
    const domain = domainOf(mailbox.address);
    const key = await this.dkim.ensure(domain);
    const now = this.#clock.now();
    const messageId = `${newId('m', now).toLowerCase()}@${domain}`;
    const references = parent ? [...parent.references, parent.messageId].slice(-20) : [];
    const from = { address: mailbox.address, name };
    const raw = await composeSigned(
      {
        from,
        to,
        subject,
        text: input.text,
        messageId,
        inReplyTo: parent?.messageId ?? null,
        references,
        date: new Date(now),
      },
      key,
    );
    const stored = await this.store.transaction(async (tx) => {
      const message = await repo.insertMessage(
        tx,
        {
          tenant: input.tenant,
          mailboxId: mailbox.id,
          mailboxAddress: mailbox.address,
          direction: 'out',
          status: 'sending',
          messageId,
          inReplyTo: parent?.messageId ?? null,
          references,
          subject,
          from,
          to,
          cc: [],
          sentAt: null,
          receivedAt: now,
          text: input.text,
          html: null,
          raw,
          size: raw.length,
          auth: null,
          authenticated: true,
          attachments: [],
          error: null,
        },
        { windowMs: this.#options.threadWindowMs ?? MAIL_DEFAULTS.threadWindowMs },
      );
      await runHooks(this.#extensions, 'onStored', tx, message, undefined);
      return message;
    });
    try {
      await relay({ ...relayOptions, hostname: this.#options.hostname }, { from: mailbox.address, to }, raw);
      this.relayHealth?.succeeded();
    } catch (error) {
      this.relayHealth?.failed(error);
      const response = error instanceof Error ? error.message : String(error);
      await repo.setStatus(this.store, stored.id, { status: 'failed', error: response });
      await runHooks(this.#extensions, 'afterSend', { ...stored, status: 'failed', error: response });
      throw new StrataError('E_MAIL_SEND_FAILED', `the relay did not take the message: ${response}`, {
        id: stored.id,
        response,
      });
    }
    const sentAt = this.#clock.now();
    await repo.setStatus(this.store, stored.id, { status: 'sent', sentAt });
    const sent: repo.MailMessage = { ...stored, status: 'sent', sentAt };
    await runHooks(this.#extensions, 'afterSend', sent);
    return sent;
  }

  /** One message of the tenant; E_NOT_FOUND otherwise. */
  async get(tenant: string, id: string): Promise<repo.MailMessage> {
    const message = await repo.getMessage(this.store, tenant, id);
    if (!message) throw new StrataError('E_NOT_FOUND', `no message ${id}`, { id });
    return message;
  }

  /** A mailbox's messages, newest first, optionally of one thread. */
  async list(query: {
    tenant: string;
    mailbox: string;
    threadId?: string;
    limit?: number;
    before?: string;
  }): Promise<repo.MailMessage[]> {
    const mailbox = await this.getMailbox(query.tenant, query.mailbox);
    return repo.listMessages(this.store, {
      tenant: query.tenant,
      mailboxId: mailbox.id,
      limit: query.limit ?? 50,
      ...(query.threadId ? { threadId: query.threadId } : {}),
      ...(query.before ? { before: query.before } : {}),
    });
  }

  /** A mailbox's threads, most recently active first. */
  async threads(tenant: string, mailbox: string, limit = 50): Promise<repo.Thread[]> {
    const box = await this.getMailbox(tenant, mailbox);
    return repo.listThreads(this.store, tenant, box.id, limit);
  }

  /** OTP codes and links (with their domain) of one message. */
  async extractCodes(tenant: string, id: string): Promise<Extracted> {
    const message = await this.get(tenant, id);
    return extractCodes(message.text, message.html);
  }

  /** The DNS records a domain should publish for Strata's signatures to verify. */
  async dnsRecords(domain: string): Promise<{ dkim: { name: string; type: 'TXT'; value: string } }> {
    const key = await this.dkim.ensure(domain.toLowerCase());
    return { dkim: { name: `${key.selector}._domainkey.${key.domain}`, type: 'TXT', value: key.dnsRecord } };
  }
}
