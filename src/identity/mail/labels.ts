/**
 * Labels on messages and threads. A label on a thread covers every message of the thread, those
 * arriving later included, so listing by label finds a message labelled itself or through its
 * thread. System labels are applied to inbound mail as it is stored (the `labelsExtension`, in the
 * message's transaction): `unauthenticated` when DMARC did not pass, `has-attachments`.
 * Names are lower-case words of letters, digits and `-_.:/` (at most 64), so they read the same
 * everywhere they are shown.
 */
import {
  StrataError,
  systemClock,
  type Clock,
  type Queryable,
  type Transaction,
} from '../../kernel/index.ts';
import type { MailExtension } from './extensions.ts';
import type { Mail } from './mail.ts';
import type { MailMessage } from './repo.ts';
import { DRAFTS_LAYER, draftsMigrations } from './drafts-migrations.ts';

export const SYSTEM_LABELS = {
  unauthenticated: 'unauthenticated',
  hasAttachments: 'has-attachments',
} as const;

export type LabelTarget = { readonly kind: 'message' | 'thread'; readonly id: string };

const NAME = /^[a-z0-9][a-z0-9_.:/-]{0,63}$/;

/** Returns the label lower-cased, or throws E_INVALID_INPUT. */
export function validateLabel(label: string): string {
  const name = label.trim().toLowerCase();
  if (!NAME.test(name)) {
    throw new StrataError('E_INVALID_INPUT', `"${label}" is not a label name (a-z, 0-9, -_.:/, at most 64)`, {
      issues: [{ path: ['label'], message: 'invalid label name' }],
    });
  }
  return name;
}

async function addIn(
  q: Queryable,
  row: { tenant: string; mailboxId: string; target: LabelTarget; label: string; now: number },
): Promise<void> {
  await q.run(
    `INSERT INTO mail_labels (tenant, mailbox_id, target_kind, target_id, label, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (target_kind, target_id, label) DO NOTHING`,
    [row.tenant, row.mailboxId, row.target.kind, row.target.id, row.label, row.now],
  );
}

export class Labels {
  readonly #mail: Mail;
  readonly #clock: Clock;

  private constructor(mail: Mail, clock: Clock) {
    this.#mail = mail;
    this.#clock = clock;
  }

  /** Migrates the `mail_drafts` layer (it holds the labels table) and returns the service. */
  static async open(options: { mail: Mail; clock?: Clock }): Promise<Labels> {
    await options.mail.store.migrate(DRAFTS_LAYER, draftsMigrations);
    return new Labels(options.mail, options.clock ?? systemClock);
  }

  async add(tenant: string, target: LabelTarget, labels: readonly string[]): Promise<string[]> {
    const mailboxId = await this.#mailboxOf(tenant, target);
    const names = labels.map(validateLabel);
    await this.#mail.store.transaction(async (tx) => {
      for (const label of names)
        await addIn(tx, { tenant, mailboxId, target, label, now: this.#clock.now() });
    });
    return this.of(tenant, target);
  }

  async remove(tenant: string, target: LabelTarget, labels: readonly string[]): Promise<string[]> {
    await this.#mailboxOf(tenant, target);
    for (const label of labels.map(validateLabel)) {
      await this.#mail.store.run(
        'DELETE FROM mail_labels WHERE tenant = ? AND target_kind = ? AND target_id = ? AND label = ?',
        [tenant, target.kind, target.id, label],
      );
    }
    return this.of(tenant, target);
  }

  /** A message's labels (its own and its thread's), or a thread's own, sorted. */
  async of(tenant: string, target: LabelTarget): Promise<string[]> {
    const threadId =
      target.kind === 'message' ? (await this.#mail.get(tenant, target.id)).threadId : target.id;
    const rows = await this.#mail.store.all<{ label: string }>(
      `SELECT DISTINCT label FROM mail_labels WHERE tenant = ?
       AND ((target_kind = 'thread' AND target_id = ?)${target.kind === 'message' ? " OR (target_kind = 'message' AND target_id = ?)" : ''})
       ORDER BY label`,
      target.kind === 'message' ? [tenant, threadId, target.id] : [tenant, threadId],
    );
    return rows.map((r) => r.label);
  }

  /** A mailbox's messages carrying a label (themselves or through their thread), newest first. */
  async messages(
    tenant: string,
    query: { mailbox: string; label: string; limit?: number; before?: string },
  ): Promise<MailMessage[]> {
    const mailbox = await this.#mail.getMailbox(tenant, query.mailbox);
    const label = validateLabel(query.label);
    const rows = await this.#mail.store.all<{ id: string }>(
      `SELECT m.id FROM mail_messages m WHERE m.tenant = ? AND m.mailbox_id = ?${query.before ? ' AND m.id < ?' : ''}
       AND EXISTS (SELECT 1 FROM mail_labels l WHERE l.mailbox_id = m.mailbox_id AND l.label = ?
         AND ((l.target_kind = 'message' AND l.target_id = m.id) OR (l.target_kind = 'thread' AND l.target_id = m.thread_id)))
       ORDER BY m.id DESC LIMIT ?`,
      [tenant, mailbox.id, ...(query.before ? [query.before] : []), label, query.limit ?? 50],
    );
    return Promise.all(rows.map((r) => this.#mail.get(tenant, r.id)));
  }

  /** The mailbox a target belongs to; E_NOT_FOUND when it is not the tenant's. */
  async #mailboxOf(tenant: string, target: LabelTarget): Promise<string> {
    if (target.kind === 'message') return (await this.#mail.get(tenant, target.id)).mailboxId;
    const row = await this.#mail.store.get<{ mailbox_id: string }>(
      'SELECT mailbox_id FROM mail_threads WHERE tenant = ? AND id = ?',
      [tenant, target.id],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no thread ${target.id}`, { thread: target.id });
    return row.mailbox_id;
  }
}

/** Applies the system labels to inbound mail in the transaction that stores it. */
export function labelsExtension(): MailExtension {
  return {
    name: 'labels',
    onStored: async (tx: Transaction, message, facts) => {
      if (facts === undefined) return; // outbound: Strata signed it, nothing to flag
      const labels = [
        ...(message.authenticated ? [] : [SYSTEM_LABELS.unauthenticated]),
        ...(message.attachments.length > 0 ? [SYSTEM_LABELS.hasAttachments] : []),
      ];
      const target = { kind: 'message', id: message.id } as const;
      for (const label of labels) {
        await addIn(tx, {
          tenant: message.tenant,
          mailboxId: message.mailboxId,
          target,
          label,
          now: message.receivedAt,
        });
      }
    },
  };
}
