/**
 * Schema of the mailboxes: mailboxes (one address per agent, scoped by tenant), messages (parsed
 * headers, text, authentication verdicts, thread, direction and delivery status), content-addressed
 * blobs holding raw messages and attachments once however many mailboxes reference them, threads,
 * the map from every Message-ID a mailbox has seen (its own or referenced) to a thread, and the
 * per-domain DKIM keys sealed with the master key. Version 2 adds the waits for inbound mail
 * (see waits.ts).
 */
import type { Migration } from '../../kernel/index.ts';

export const MAIL_LAYER = 'mail';

export const mailMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'mailboxes, messages, blobs, threads, dkim keys',
    up: {
      sqlite: schema('BLOB'),
      postgres: schema('BYTEA'),
    },
  },
  {
    version: 2,
    name: 'waits for inbound mail',
    up: `
      CREATE TABLE mail_waits (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        run_id TEXT,
        idem_key TEXT,
        query TEXT NOT NULL,
        status TEXT NOT NULL,
        message_id TEXT,
        created_at BIGINT NOT NULL,
        fired_at BIGINT,
        signalled_at BIGINT
      );
      CREATE UNIQUE INDEX mail_waits_key ON mail_waits (tenant, idem_key);
      CREATE INDEX mail_waits_mailbox ON mail_waits (mailbox_id, status);
      CREATE INDEX mail_waits_unsignalled ON mail_waits (status, signalled_at, fired_at)
    `,
  },
];

function schema(bytes: string): string {
  return `
    CREATE TABLE mail_mailboxes (
      id TEXT PRIMARY KEY,
      tenant TEXT NOT NULL,
      agent TEXT NOT NULL,
      address TEXT NOT NULL UNIQUE,
      display_name TEXT,
      created_at BIGINT NOT NULL
    );
    CREATE INDEX mail_mailboxes_tenant ON mail_mailboxes (tenant, agent);
    CREATE TABLE mail_blobs (
      hash TEXT PRIMARY KEY,
      size BIGINT NOT NULL,
      data ${bytes} NOT NULL
    );
    CREATE TABLE mail_threads (
      id TEXT PRIMARY KEY,
      tenant TEXT NOT NULL,
      mailbox_id TEXT NOT NULL,
      subject TEXT NOT NULL,
      norm_subject TEXT NOT NULL,
      participants TEXT NOT NULL,
      first_at BIGINT NOT NULL,
      last_at BIGINT NOT NULL,
      message_count BIGINT NOT NULL
    );
    CREATE INDEX mail_threads_subject ON mail_threads (mailbox_id, norm_subject, last_at);
    CREATE INDEX mail_threads_recent ON mail_threads (mailbox_id, last_at);
    CREATE TABLE mail_messages (
      id TEXT PRIMARY KEY,
      tenant TEXT NOT NULL,
      mailbox_id TEXT NOT NULL,
      direction TEXT NOT NULL,
      status TEXT NOT NULL,
      message_id TEXT NOT NULL,
      thread_id TEXT NOT NULL,
      in_reply_to TEXT,
      refs TEXT NOT NULL,
      subject TEXT NOT NULL,
      from_addr TEXT NOT NULL,
      from_name TEXT,
      to_addrs TEXT NOT NULL,
      cc_addrs TEXT NOT NULL,
      sent_at BIGINT,
      received_at BIGINT NOT NULL,
      text_body TEXT NOT NULL,
      html_body TEXT,
      raw_hash TEXT,
      size BIGINT NOT NULL,
      auth TEXT,
      authenticated INTEGER NOT NULL,
      error TEXT
    );
    CREATE INDEX mail_messages_mailbox ON mail_messages (mailbox_id, id);
    CREATE INDEX mail_messages_thread ON mail_messages (thread_id, id);
    CREATE TABLE mail_attachments (
      message_id TEXT NOT NULL,
      idx INTEGER NOT NULL,
      filename TEXT,
      content_type TEXT NOT NULL,
      size BIGINT NOT NULL,
      hash TEXT NOT NULL,
      PRIMARY KEY (message_id, idx)
    );
    CREATE TABLE mail_thread_refs (
      mailbox_id TEXT NOT NULL,
      message_id TEXT NOT NULL,
      thread_id TEXT NOT NULL,
      PRIMARY KEY (mailbox_id, message_id)
    );
    CREATE INDEX mail_thread_refs_thread ON mail_thread_refs (thread_id);
    CREATE TABLE mail_dkim_keys (
      domain TEXT PRIMARY KEY,
      selector TEXT NOT NULL,
      private_sealed TEXT NOT NULL,
      public_key TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )
  `;
}
