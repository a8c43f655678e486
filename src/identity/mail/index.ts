/**
 * @module strata/identity/mail
 * Mailboxes over real SMTP: inbound with smtp-server (size, recipient, hop and connection limits),
 * SPF/DKIM/DMARC/ARC verdicts from mailauth stored with every message (anything but pass is
 * flagged unauthenticated), threading by headers with a guarded subject fallback, outbound through
 * a relay with nodemailer, DKIM-signed per domain, after Strata validated every address.
 *
 * @example
 * ```ts
 * const mail = await Mail.open({ store, masterKey, hostname: 'mx.example.com', relay: { host, port } });
 * const box = await mail.createMailbox({ tenant, agent: 'a1', address: 'a1@example.com' });
 * const smtp = await mail.listen({ port: 2525 });
 * for (const definition of mailSyscalls(mail)) kernel.register(definition);
 * ```
 * Any new export added here becomes public API.
 */
export { Mail, MAIL_DEFAULTS, type MailOptions, type SendInput } from './mail.ts';
export { mailSyscalls } from './syscalls.ts';
export type { InboundFacts, MailExtension, OutboundDraft } from './extensions.ts';
export { MAX_BLOCKING_WAIT_MS } from './wait-syscalls.ts';
export {
  waitForMail,
  type MailWaitingContext,
  type ReceivedMail,
  type WaitForMailQuery,
} from './wait-for-mail.ts';
export type { MailWaiter, WaitDeliverer } from './waiter.ts';
export { matchesWait, waitSignal, type MailWait, type MailWaitQuery, type MailWaitStatus } from './waits.ts';
export { MAIL_LAYER, mailMigrations } from './migrations.ts';
export { validateAddress, validateHeaderText } from './address.ts';
export {
  memoryResolver,
  verifyMessage,
  type AuthVerdicts,
  type DkimVerdict,
  type DNSResolver,
  type MemoryZone,
} from './auth.ts';
export { extractCodes, type Extracted, type ExtractedCode, type ExtractedLink } from './extract.ts';
export { normalizeSubject, parseIdList } from './threading.ts';
export type { InboundLimits } from './inbound.ts';
export type { RelayOptions } from './outbound.ts';
export { outboxBacklog, RelayHealth, type OutboxBacklog, type RelayHealthOptions } from './relay-health.ts';
export type { RunningSmtpServer } from './smtp.ts';
export type { AttachmentMeta, Direction, Mailbox, MailMessage, MessageStatus, Thread } from './repo.ts';
export { rawMessage, smtpSink, type RawMessageSpec, type SinkMessage } from './testing.ts';
export { openMailEvents, type MailEventsLayer } from './events-setup.ts';
export { eventOut, mailEventSyscalls } from './events-syscalls.ts';
export {
  MAIL_EVENT_TYPES,
  MailEvents,
  type MailEvent,
  type MailEventType,
  type MessageSummary,
} from './events.ts';
export { MAIL_EVENTS_LAYER, mailEventMigrations } from './events-migrations.ts';
export { WEBHOOK_DEFAULTS, WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';
export { DispatchLoop, retryAt, sendSignedWebhook, type AttemptResult } from './webhook-outbox.ts';
export {
  newWebhookSecret,
  signWebhook,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
} from './webhook-signature.ts';
export {
  MailWebhooks,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryStatus,
  type Webhook,
} from './webhooks.ts';
export { MailPolicy, type MailPolicyOptions } from './policy.ts';
export { policySyscalls } from './policy-syscalls.ts';
export { MAIL_POLICY_LAYER, policyMigrations } from './policy-migrations.ts';
export { LOOP_DEFAULTS, type LoopOptions } from './auto-reply.ts';
export { readDeliveryReport, type DeliveryReport, type DsnRecipient } from './dsn.ts';
export { Drafts, draftSignal, type DraftContent, type MailboxSettings } from './drafts.ts';
export type { Draft, DraftStatus } from './drafts-repo.ts';
export { approvalHold, draftSyscalls, type SendRequest } from './drafts-syscalls.ts';
export { startDraftSweeper, type DraftSweeper, type DraftSweeperOptions } from './draft-sweeper.ts';
export { DRAFTS_LAYER, draftsMigrations } from './drafts-migrations.ts';
export { Labels, labelsExtension, SYSTEM_LABELS, validateLabel, type LabelTarget } from './labels.ts';
export { labelSyscalls } from './labels-syscalls.ts';
export { replyText, type ReplyText } from './reply-text.ts';
export type { MailSyscallOptions } from './syscalls.ts';
