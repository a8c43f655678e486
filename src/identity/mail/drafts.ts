/**
 * Drafts of a mailbox: written, edited, sent once, scheduled, or held for a human's approval.
 * Addresses and the subject are validated when the draft is written (E_MAIL_ADDRESS_INVALID,
 * E_MAIL_HEADER_INVALID), so a bad draft is refused by its author rather than at send time.
 *
 * Statuses: `draft` (editable) → `scheduled` (due at sendAt; cancel returns it to `draft`) →
 * `sending` (claimed by exactly one caller or sweeper) → `sent` | `failed` (the error recorded; may
 * be sent again). `pending_approval` (a held `mail.send`) → approved: `sending`…, or `rejected`
 * with a reason. A process dying while a draft is `sending` leaves it there: re-sending it could
 * relay the message twice, so it waits for a person to look.
 */
import { EventEmitter } from 'node:events';
import { newId, StrataError, systemClock, type Clock } from '../../kernel/index.ts';
import { validateAddress, validateHeaderText } from './address.ts';
import type { Mail } from './mail.ts';
import { DRAFTS_LAYER, draftsMigrations } from './drafts-migrations.ts';
import * as rows from './drafts-repo.ts';
import type { Draft, DraftStatus } from './drafts-repo.ts';

export interface DraftContent {
  readonly to?: readonly string[];
  readonly subject?: string;
  readonly text?: string;
  /** A message id (`msg_…`) of the same mailbox; null removes it. */
  readonly inReplyTo?: string | null;
}

export interface MailboxSettings {
  readonly mailboxId: string;
  /** Agents' `mail.send` becomes a draft awaiting approval. */
  readonly approvalRequired: boolean;
}

/** The signal a durable run that asked for approval receives when its draft is settled. */
export const draftSignal = (draftId: string): string => `draft:${draftId}`;

/** The statuses after which a draft changes no more on its own. */
const SETTLED: readonly DraftStatus[] = ['sent', 'failed', 'rejected'];
const EDITABLE: readonly DraftStatus[] = ['draft', 'scheduled'];
/** How often `waitSettled` re-reads the row, for decisions taken in another process. */
const WAIT_POLL_MS = 250;

export class Drafts {
  readonly #mail: Mail;
  readonly #clock: Clock;
  readonly #settled = new EventEmitter();
  readonly #listeners: ((draft: Draft) => Promise<void>)[] = [];

  private constructor(mail: Mail, clock: Clock) {
    this.#mail = mail;
    this.#clock = clock;
    this.#settled.setMaxListeners(0);
  }

  /** Migrates the `mail_drafts` layer (after the mail layer, whose tables it reads). */
  static async open(options: { mail: Mail; clock?: Clock }): Promise<Drafts> {
    await options.mail.store.migrate(DRAFTS_LAYER, draftsMigrations);
    return new Drafts(options.mail, options.clock ?? systemClock);
  }

  /** Called with every draft that settles (sent, failed, rejected), e.g. to signal its run. */
  onSettled(listener: (draft: Draft) => Promise<void>): void {
    this.#listeners.push(listener);
  }

  async create(
    tenant: string,
    input: DraftContent & { mailbox: string; status?: 'draft' | 'pending_approval' },
    origin: { requestedBy?: string; runId?: string } = {},
  ): Promise<Draft> {
    const mailbox = await this.#mail.getMailbox(tenant, input.mailbox);
    const content = await this.#validate(tenant, mailbox.id, input);
    const now = this.#clock.now();
    const draft: Draft = {
      id: newId('drf', now),
      tenant,
      mailboxId: mailbox.id,
      status: input.status ?? 'draft',
      to: content.to ?? [],
      subject: content.subject ?? '',
      text: content.text ?? '',
      inReplyTo: content.inReplyTo ?? null,
      sendAt: null,
      messageId: null,
      error: null,
      reason: null,
      requestedBy: origin.requestedBy ?? null,
      runId: origin.runId ?? null,
      decidedBy: null,
      createdAt: now,
      updatedAt: now,
      sentAt: null,
    };
    if (draft.status === 'pending_approval') requireRecipients(draft);
    await rows.insertDraft(this.#mail.store, draft);
    return draft;
  }

  /** Changes the content of a draft not yet sent, held or being sent. */
  async update(tenant: string, id: string, patch: DraftContent): Promise<Draft> {
    const draft = await this.get(tenant, id);
    const content = await this.#validate(tenant, draft.mailboxId, patch);
    const changes: rows.DraftChanges = { updated_at: this.#clock.now() };
    if (content.to) changes.to_addrs = JSON.stringify(content.to);
    if (content.subject !== undefined) changes.subject = content.subject;
    if (content.text !== undefined) changes.text_body = content.text;
    if (content.inReplyTo !== undefined) changes.in_reply_to = content.inReplyTo;
    await this.#transition(draft, EDITABLE, changes, 'edited');
    return this.get(tenant, id);
  }

  async get(tenant: string, id: string): Promise<Draft> {
    const draft = await rows.findDraft(this.#mail.store, tenant, id);
    if (!draft) throw new StrataError('E_NOT_FOUND', `no draft ${id}`, { draft: id });
    return draft;
  }

  async list(
    tenant: string,
    query: { mailbox: string; status?: DraftStatus; limit?: number; before?: string },
  ): Promise<Draft[]> {
    const mailbox = await this.#mail.getMailbox(tenant, query.mailbox);
    return rows.listDrafts(this.#mail.store, {
      tenant,
      mailboxId: mailbox.id,
      limit: query.limit ?? 50,
      ...(query.status ? { status: query.status } : {}),
      ...(query.before ? { before: query.before } : {}),
    });
  }

  /** Deletes a draft in any status but `sending`. */
  async delete(tenant: string, id: string): Promise<void> {
    const draft = await this.get(tenant, id);
    if (!(await rows.deleteDraft(this.#mail.store, tenant, id))) throw conflict(draft, 'deleted');
  }

  /**
   * Sends a draft now, at most once: the caller that moves it to `sending` sends it; a draft
   * already sent is returned as it is; one being sent, held or rejected is refused (E_CONFLICT).
   */
  async send(tenant: string, id: string): Promise<Draft> {
    const draft = await this.get(tenant, id);
    if (draft.status === 'sent') return draft;
    requireRecipients(draft);
    await this.#transition(draft, [...EDITABLE, 'failed'], this.#sending(), 'sent');
    return this.#deliver(draft);
  }

  /** Schedules a draft for `sendAt` (epoch ms; a past time means the next sweep). */
  async schedule(tenant: string, id: string, sendAt: number): Promise<Draft> {
    const draft = await this.get(tenant, id);
    requireRecipients(draft);
    const changes = { status: 'scheduled', send_at: sendAt, updated_at: this.#clock.now() };
    await this.#transition(draft, [...EDITABLE, 'failed'], changes, 'scheduled');
    return this.get(tenant, id);
  }

  /** Takes a scheduled draft back to `draft` before it is due; E_CONFLICT once claimed. */
  async cancel(tenant: string, id: string): Promise<Draft> {
    const draft = await this.get(tenant, id);
    const changes = { status: 'draft', send_at: null, updated_at: this.#clock.now() };
    await this.#transition(draft, ['scheduled'], changes, 'cancelled');
    return this.get(tenant, id);
  }

  /** Approves a held draft and sends it. Its requester cannot approve it (four eyes). */
  async approve(tenant: string, id: string, approver: string): Promise<Draft> {
    const draft = await this.#decidable(tenant, id, approver);
    await this.#transition(
      draft,
      ['pending_approval'],
      { ...this.#sending(), decided_by: approver },
      'approved',
    );
    return this.#deliver(draft);
  }

  async reject(tenant: string, id: string, decision: { approver: string; reason: string }): Promise<Draft> {
    const draft = await this.#decidable(tenant, id, decision.approver);
    const changes = {
      status: 'rejected',
      reason: validateHeaderText(decision.reason, 'reason', 2000),
      decided_by: decision.approver,
      updated_at: this.#clock.now(),
    };
    await this.#transition(draft, ['pending_approval'], changes, 'rejected');
    return this.#announce(await this.get(tenant, id));
  }

  /**
   * Waits until a draft is settled (sent, failed or rejected) and returns it; E_WAIT_TIMEOUT
   * after `timeoutMs`. Wakes at once for a decision taken in this process, else within 250 ms.
   */
  async waitSettled(
    tenant: string,
    id: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<Draft> {
    const deadline = this.#clock.now() + options.timeoutMs;
    for (;;) {
      const draft = await this.get(tenant, id);
      if (SETTLED.includes(draft.status)) return draft;
      const left = deadline - this.#clock.now();
      if (left <= 0 || options.signal?.aborted) {
        throw new StrataError('E_WAIT_TIMEOUT', `draft ${id} is still ${draft.status}`, { draft: id });
      }
      await this.#nextSettle(id, Math.min(left, WAIT_POLL_MS), options.signal);
    }
  }

  /** Sends the scheduled drafts due now, each claimed first; returns how many this call claimed. */
  async sweep(limit = 50): Promise<number> {
    const now = this.#clock.now();
    let claimed = 0;
    for (const due of await rows.dueDrafts(this.#mail.store, now, limit)) {
      const won = await rows.claim(
        this.#mail.store,
        { tenant: due.tenant, id: due.id, from: ['scheduled'] },
        this.#sending(),
        { sql: 'send_at <= ?', params: [now] },
      );
      if (!won) continue; // another process or a cancel got there first
      claimed++;
      const draft = await this.get(due.tenant, due.id);
      // The failure is recorded on the draft; the sweep goes on with the next one.
      await this.#deliver(draft).catch(() => undefined);
    }
    return claimed;
  }

  async settings(tenant: string, mailbox: string): Promise<MailboxSettings> {
    const box = await this.#mail.getMailbox(tenant, mailbox);
    const row = await this.#mail.store.get<{ approval_required: number }>(
      'SELECT approval_required FROM mail_mailbox_settings WHERE mailbox_id = ?',
      [box.id],
    );
    return { mailboxId: box.id, approvalRequired: row?.approval_required === 1 };
  }

  async setSettings(
    tenant: string,
    mailbox: string,
    settings: { approvalRequired: boolean },
  ): Promise<MailboxSettings> {
    const box = await this.#mail.getMailbox(tenant, mailbox);
    await this.#mail.store.run(
      `INSERT INTO mail_mailbox_settings (mailbox_id, tenant, approval_required, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (mailbox_id) DO UPDATE SET approval_required = excluded.approval_required, updated_at = excluded.updated_at`,
      [box.id, tenant, settings.approvalRequired ? 1 : 0, this.#clock.now()],
    );
    return { mailboxId: box.id, approvalRequired: settings.approvalRequired };
  }

  #sending(): rows.DraftChanges {
    return { status: 'sending', error: null, updated_at: this.#clock.now() };
  }

  async #transition(
    draft: Draft,
    from: readonly DraftStatus[],
    changes: rows.DraftChanges,
    verb: string,
  ): Promise<void> {
    const won = await rows.claim(this.#mail.store, { tenant: draft.tenant, id: draft.id, from }, changes);
    if (!won) throw conflict(await this.get(draft.tenant, draft.id), verb);
  }

  async #decidable(tenant: string, id: string, approver: string): Promise<Draft> {
    const draft = await this.get(tenant, id);
    if (draft.requestedBy !== null && draft.requestedBy === approver) {
      throw new StrataError('E_CAPABILITY_DENIED', `draft ${id} cannot be decided by the one who asked`, {
        draft: id,
      });
    }
    return draft;
  }

  /** Sends a draft this caller has claimed (`sending`) and records the outcome on it. */
  async #deliver(draft: Draft): Promise<Draft> {
    const store = this.#mail.store;
    const target = { tenant: draft.tenant, id: draft.id, from: ['sending'] as const };
    try {
      const message = await this.#mail.send({
        tenant: draft.tenant,
        mailboxId: draft.mailboxId,
        to: draft.to,
        subject: draft.subject,
        text: draft.text,
        ...(draft.inReplyTo ? { inReplyTo: draft.inReplyTo } : {}),
      });
      const now = this.#clock.now();
      await rows.claim(store, target, {
        status: 'sent',
        message_id: message.id,
        sent_at: now,
        updated_at: now,
      });
    } catch (error) {
      const data = error instanceof StrataError ? (error.data as { id?: unknown } | undefined) : undefined;
      await rows.claim(store, target, {
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
        updated_at: this.#clock.now(),
        ...(typeof data?.id === 'string' ? { message_id: data.id } : {}),
      });
      await this.#announce(await this.get(draft.tenant, draft.id));
      throw error;
    }
    return this.#announce(await this.get(draft.tenant, draft.id));
  }

  async #announce(draft: Draft): Promise<Draft> {
    this.#settled.emit(draft.id, draft);
    for (const listener of this.#listeners) await listener(draft);
    return draft;
  }

  #nextSettle(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#settled.off(id, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#settled.on(id, done);
      signal?.addEventListener('abort', done);
    });
  }

  async #validate(tenant: string, mailboxId: string, content: DraftContent): Promise<DraftContent> {
    if (content.inReplyTo) {
      const parent = await this.#mail.get(tenant, content.inReplyTo);
      if (parent.mailboxId !== mailboxId) {
        throw new StrataError('E_NOT_FOUND', `no message ${content.inReplyTo} in this mailbox`, {
          id: content.inReplyTo,
        });
      }
    }
    return {
      ...content,
      ...(content.to ? { to: content.to.map((a, i) => validateAddress(a, `to[${i}]`)) } : {}),
      ...(content.subject === undefined ? {} : { subject: validateHeaderText(content.subject, 'subject') }),
    };
  }
}

function requireRecipients(draft: Pick<Draft, 'to'>): void {
  if (draft.to.length === 0) {
    throw new StrataError('E_MAIL_ADDRESS_INVALID', 'to: at least one recipient', {
      field: 'to',
      reason: 'syntax',
    });
  }
}

function conflict(draft: Draft, verb: string): StrataError {
  return new StrataError('E_CONFLICT', `draft ${draft.id} is ${draft.status}; it cannot be ${verb}`, {
    draft: draft.id,
    status: draft.status,
  });
}
