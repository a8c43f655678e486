/**
 * Schema of mail policy, its own migration layer (`mail_policy`) so its versions never collide with
 * the mail layer's: allow/block list entries per mailbox and direction, send caps (per mailbox, or
 * the tenant's default under mailbox `*`), the tenant's suppression list, bounces read from DSNs,
 * inbound messages labelled auto-submitted (RFC 3834) and the count of auto-reply storms refused.
 */
import type { Migration } from '../../kernel/index.ts';

export const MAIL_POLICY_LAYER = 'mail_policy';

/** The mailbox id under which a tenant's default send cap is kept. */
export const TENANT_DEFAULT = '*';

export const policyMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'lists, send caps, suppressions, bounces, auto-submitted messages, loop refusals',
    up: `
      CREATE TABLE mail_policy_lists (
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        entry TEXT NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, entry, kind, direction)
      );
      CREATE TABLE mail_send_caps (
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        max_messages BIGINT NOT NULL,
        window_ms BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, mailbox_id)
      );
      CREATE TABLE mail_suppressions (
        tenant TEXT NOT NULL,
        address TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT,
        diagnostic TEXT,
        bounce_id TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, address)
      );
      CREATE TABLE mail_bounces (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        dsn_message_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT NOT NULL,
        diagnostic TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX mail_bounces_mailbox ON mail_bounces (mailbox_id, id);
      CREATE TABLE mail_auto_submitted (
        message_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        rfc_message_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX mail_auto_submitted_sender ON mail_auto_submitted (mailbox_id, sender, created_at);
      CREATE INDEX mail_auto_submitted_rfc ON mail_auto_submitted (mailbox_id, rfc_message_id);
      CREATE TABLE mail_loop_refusals (
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        refused BIGINT NOT NULL,
        last_at BIGINT NOT NULL,
        PRIMARY KEY (mailbox_id, sender)
      )
    `,
  },
];
