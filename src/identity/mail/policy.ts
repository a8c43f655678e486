/**
 * Mail policy as a mail extension (`mail.use(policy)`): allow/block lists (policy-lists.ts), send
 * caps (send-caps.ts), the suppression list fed by delivery reports (suppressions.ts, dsn.ts) and
 * auto-reply loop detection (auto-reply.ts). Its tables are its own migration layer.
 *
 * Inbound: `screenInbound` refuses a listed sender (E_MAIL_BLOCKED) or an auto-reply storm
 * (E_MAIL_LOOP) for one mailbox's copy; `onStored` labels automatic messages and records bounces.
 * Outbound: `screenOutbound` refuses listed or suppressed recipients and a full send cap before
 * anything is composed; `onStored` re-checks the cap under the mailbox lock and refuses a reply to
 * an automatic message, rolling the stored row back.
 *
 * @example
 * const policy = await MailPolicy.open({ store, clock });
 * mail.use(policy);
 * for (const definition of policySyscalls(mail, policy)) kernel.register(definition);
 */
import { systemClock, type Clock, type Store, type Transaction } from '../../kernel/index.ts';
import { StrataError } from '../../kernel/index.ts';
import {
  autoSubmittedReason,
  labelAutoSubmitted,
  LOOP_DEFAULTS,
  refuseReplyToAutomatic,
  refuseStorm,
  senderOf,
  type LoopOptions,
} from './auto-reply.ts';
import { isDeliveryReport, readDeliveryReport, recordBounces } from './dsn.ts';
import type { InboundFacts, MailExtension, OutboundDraft } from './extensions.ts';
import { screenAddresses, type ListRefusal } from './policy-lists.ts';
import { MAIL_POLICY_LAYER, policyMigrations } from './policy-migrations.ts';
import { getBlob, type Mailbox, type MailMessage } from './repo.ts';
import { enforceCap } from './send-caps.ts';
import { refuseSuppressed } from './suppressions.ts';

export interface MailPolicyOptions {
  readonly store: Store;
  /** Must be the mail service's clock, so windows line up with stored timestamps. @default systemClock */
  readonly clock?: Clock;
  /** When automatic mail from one sender becomes a storm. @default LOOP_DEFAULTS (5 in 10 minutes) */
  readonly loop?: Partial<LoopOptions>;
}

function blocked(
  mailbox: Mailbox,
  direction: string,
  refusal: ListRefusal & { address: string },
): StrataError {
  const why =
    refusal.rule === 'block'
      ? `is blocked by ${refusal.entry ?? ''} on ${mailbox.address}'s ${direction} block list`
      : `is not on ${mailbox.address}'s ${direction} allow list`;
  return new StrataError('E_MAIL_BLOCKED', `${refusal.address} ${why}`, {
    address: refusal.address,
    rule: refusal.rule,
    entry: refusal.entry,
    mailbox: mailbox.address,
    direction,
  });
}

export class MailPolicy implements MailExtension {
  readonly name = 'policy';
  readonly store: Store;
  readonly clock: Clock;
  readonly loop: LoopOptions;

  private constructor(options: MailPolicyOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.loop = { ...LOOP_DEFAULTS, ...options.loop };
  }

  /** Migrates the `mail_policy` layer (after the mail layer: it reads mail_messages). */
  static async open(options: MailPolicyOptions): Promise<MailPolicy> {
    await options.store.migrate(MAIL_POLICY_LAYER, policyMigrations);
    return new MailPolicy(options);
  }

  async screenInbound(mailbox: Mailbox, facts: InboundFacts): Promise<void> {
    const senders = [...(facts.parsed.from?.value ?? []).map((a) => a.address ?? ''), facts.mailFrom]
      .map((a) => a.toLowerCase())
      .filter((a) => a.length > 0);
    const refusal = await screenAddresses(this.store, mailbox.id, 'inbound', [...new Set(senders)]);
    if (refusal) throw blocked(mailbox, 'inbound', refusal);
    if (autoSubmittedReason(facts.parsed, facts.mailFrom) === undefined || isDeliveryReport(facts.parsed))
      return;
    await refuseStorm(this.store, {
      tenant: mailbox.tenant,
      mailboxId: mailbox.id,
      sender: senderOf(facts.parsed, facts.mailFrom),
      now: this.clock.now(),
      loop: this.loop,
    });
  }

  async onStored(tx: Transaction, message: MailMessage, facts: InboundFacts | undefined): Promise<void> {
    const now = this.clock.now();
    if (facts === undefined) {
      await refuseReplyToAutomatic(tx, message);
      await enforceCap(tx, {
        tenant: message.tenant,
        mailboxId: message.mailboxId,
        now,
        except: message.id,
        lock: true,
      });
      return;
    }
    const reason = autoSubmittedReason(facts.parsed, facts.mailFrom);
    if (reason !== undefined) {
      await labelAutoSubmitted(tx, message, { sender: senderOf(facts.parsed, facts.mailFrom), reason, now });
    }
    if (!isDeliveryReport(facts.parsed) || message.rawHash === null) return;
    const raw = await getBlob(tx, message.rawHash);
    const report = raw ? await readDeliveryReport(raw) : undefined;
    if (report) await recordBounces(tx, message, report, now);
  }

  async screenOutbound(draft: OutboundDraft): Promise<void> {
    const refusal = await screenAddresses(this.store, draft.mailbox.id, 'outbound', draft.to);
    if (refusal) throw blocked(draft.mailbox, 'outbound', refusal);
    await refuseSuppressed(this.store, draft.tenant, draft.to);
    await enforceCap(this.store, {
      tenant: draft.tenant,
      mailboxId: draft.mailbox.id,
      now: this.clock.now(),
    });
  }
}
