/**
 * Schema of drafts, mailbox settings and labels, in their own migration layer (`mail_drafts`) so
 * they never collide with the mail layer's version numbers.
 * - `mail_drafts`: one outgoing message being written, scheduled, held for approval or sent. Its
 *   `status` is the claim: every transition is a conditional UPDATE (`… WHERE status = ?`), so two
 *   callers or two processes never both send one draft.
 * - `mail_mailbox_settings`: per-mailbox switches (approval before send).
 * - `mail_labels`: a label on a message or on a thread (a thread's label covers its messages).
 */
import type { Migration } from '../../kernel/index.ts';

export const DRAFTS_LAYER = 'mail_drafts';

export const draftsMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'drafts, mailbox settings, labels',
    up: `
      CREATE TABLE mail_drafts (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        status TEXT NOT NULL,
        to_addrs TEXT NOT NULL,
        subject TEXT NOT NULL,
        text_body TEXT NOT NULL,
        in_reply_to TEXT,
        send_at BIGINT,
        message_id TEXT,
        error TEXT,
        reason TEXT,
        requested_by TEXT,
        run_id TEXT,
        decided_by TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        sent_at BIGINT
      );
      CREATE INDEX mail_drafts_mailbox ON mail_drafts (tenant, mailbox_id, id);
      CREATE INDEX mail_drafts_due ON mail_drafts (status, send_at);
      CREATE TABLE mail_mailbox_settings (
        mailbox_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        approval_required INTEGER NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE mail_labels (
        tenant TEXT NOT NULL,
        mailbox_id TEXT NOT NULL,
        target_kind TEXT NOT NULL,
        target_id TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (target_kind, target_id, label)
      );
      CREATE INDEX mail_labels_by_label ON mail_labels (mailbox_id, label)
    `,
  },
];
