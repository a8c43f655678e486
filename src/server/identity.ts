/**
 * @module server/identity
 * Opens the identity layer for a runtime: agent identities (keys sealed with the master key) and
 * their syscalls, delegation with proof of possession, mailboxes (and the inbound SMTP server when
 * `mail.smtpPort` is set; outbound through `mail.relayUrl`), and `a2a.call` toward remote agents.
 * Mail waits of durable runs are signalled to their runs through the engine; fired waits whose
 * signal was not handed over (a crash between the two) are swept at start and every few seconds.
 */
import type { Clock, Kernel, Logger, StrataConfig, Store } from '../kernel/index.ts';
import type { Engine } from '../orchestration/index.ts';
import {
  agentSyscalls,
  AgentIdentities,
  a2aSyscalls,
  AgentDirectory,
  Delegations,
  directorySyscalls,
  delegationSyscalls,
  Mail,
  MailPolicy,
  mailEventSyscalls,
  mailSyscalls,
  approvalHold,
  Drafts,
  draftSignal,
  draftSyscalls,
  Labels,
  labelsExtension,
  labelSyscalls,
  startDraftSweeper,
  policySyscalls,
  openMailEvents,
  type MailEventsLayer,
  type RelayOptions,
  type RunningSmtpServer,
} from '../identity/index.ts';

/** How often fired mail waits left unsignalled (by a crash, a store hiccup) are retried. */
const WAIT_SWEEP_MS = 5_000;

export interface IdentityLayer {
  readonly identities: AgentIdentities;
  readonly delegations: Delegations;
  readonly mail: Mail;
  /** Mail events (outbox, SSE source) and webhooks with their dispatcher. */
  readonly mailEvents: MailEventsLayer;
  /** Remote A2A agents this node knows, with the outcome of calls to them. */
  readonly directory: AgentDirectory;
  /** The inbound SMTP server, when `mail.smtpPort` is set. */
  readonly smtp: RunningSmtpServer | undefined;
  close(): Promise<void>;
}

/** `smtp://user:pass@host:port` → relay options (`smtps://` means implicit TLS). */
export function relayOf(url: string | undefined): RelayOptions | undefined {
  if (!url) return undefined;
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    ...(parsed.username
      ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } }
      : {}),
  };
}

export async function openIdentity(parts: {
  store: Store;
  kernel: Kernel;
  config: StrataConfig;
  masterKey: Buffer;
  clock: Clock;
  engine: Engine;
  logger: Logger;
  /** The vault, for `a2a.call`'s `credential` (a bearer for the remote agent). */
  revealSecret?: (tenantId: string, name: string, principalId: string) => Promise<string>;
}): Promise<IdentityLayer> {
  const { store, kernel, config, masterKey, clock, engine, logger } = parts;
  const identities = await AgentIdentities.open({ store, masterKey, clock });
  const delegations = await Delegations.open({ store, clock });
  const mail = await Mail.open({
    store,
    masterKey,
    clock,
    hostname: config.mail.hostname,
    ...(config.mail.domains.length ? { domains: config.mail.domains } : {}),
    relay: relayOf(config.mail.relayUrl),
  });
  // Allow/block lists, send caps, bounces and suppression, auto-reply loop detection.
  const policy = await MailPolicy.open({ store, clock });
  mail.use(policy);
  const directory = await AgentDirectory.open({ store, clock, allowPrivate: config.network.allowPrivate });
  // Drafts (scheduled sends, approval before send), labels (system labels on inbound), reply text.
  const drafts = await Drafts.open({ mail, clock });
  const labels = await Labels.open({ mail, clock });
  mail.use(labelsExtension());
  drafts.onSettled((draft) =>
    draft.runId === null
      ? Promise.resolve()
      : engine
          .signal(draft.tenant, draft.runId, draftSignal(draft.id), { status: draft.status })
          .catch((error: unknown) =>
            logger.warn({ err: error, draft: draft.id }, 'signalling a settled draft failed'),
          ),
  );
  const draftSweeper = startDraftSweeper(drafts, {
    onError: (error) => logger.warn({ err: error }, 'sending scheduled drafts failed; retrying'),
  });
  for (const definition of [
    ...agentSyscalls(identities),
    ...delegationSyscalls({ delegations, identities }),
    ...mailSyscalls(mail, { holdSend: approvalHold(drafts) }),
    ...draftSyscalls(drafts),
    ...labelSyscalls({ mail, labels }),
    ...policySyscalls(mail, policy),
    ...a2aSyscalls({
      allowPrivate: config.network.allowPrivate,
      ...(parts.revealSecret ? { revealSecret: parts.revealSecret } : {}),
      onCalled: (tenant, url, outcome) => directory.recordCall(tenant, url, outcome),
    }),
    ...directorySyscalls(directory),
  ])
    kernel.register(definition);
  const mailEvents = await openMailEvents({ mail, masterKey, clock, logger });
  for (const definition of mailEventSyscalls(mailEvents)) kernel.register(definition);
  mailEvents.dispatcher.start();
  mail.waits.onFired((wait) =>
    engine.signal(wait.tenant, wait.runId ?? '', wait.signal, { messageId: wait.messageId }),
  );
  const sweep = (): Promise<void> =>
    mail.waits.sweep().then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error }, 'signalling fired mail waits failed; retrying'),
    );
  await sweep();
  const sweeper = setInterval(() => void sweep(), WAIT_SWEEP_MS);
  sweeper.unref();
  const smtp =
    config.mail.smtpPort === undefined
      ? undefined
      : await mail.listen({ port: config.mail.smtpPort, host: config.mail.smtpHost });
  return {
    identities,
    delegations,
    mail,
    mailEvents,
    directory,
    smtp,
    close: async () => {
      await mailEvents.dispatcher.stop();
      clearInterval(sweeper);
      await draftSweeper.stop();
      await smtp?.close();
    },
  };
}
