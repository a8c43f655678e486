/**
 * @module server/identity
 * Opens the identity layer for a runtime: agent identities (keys sealed with the master key) and
 * their syscalls, delegation with proof of possession, mailboxes (and the inbound SMTP server when
 * `mail.smtpPort` is set; outbound through `mail.relayUrl`), and `a2a.call` toward remote agents.
 */
import type { Clock, Kernel, StrataConfig, Store } from '../kernel/index.ts';
import {
  agentSyscalls,
  AgentIdentities,
  a2aSyscalls,
  Delegations,
  delegationSyscalls,
  Mail,
  mailSyscalls,
  type RelayOptions,
  type RunningSmtpServer,
} from '../identity/index.ts';

export interface IdentityLayer {
  readonly identities: AgentIdentities;
  readonly delegations: Delegations;
  readonly mail: Mail;
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
}): Promise<IdentityLayer> {
  const { store, kernel, config, masterKey, clock } = parts;
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
  for (const definition of [
    ...agentSyscalls(identities),
    ...delegationSyscalls({ delegations, identities }),
    ...mailSyscalls(mail),
    ...a2aSyscalls(),
  ])
    kernel.register(definition);
  const smtp =
    config.mail.smtpPort === undefined
      ? undefined
      : await mail.listen({ port: config.mail.smtpPort, host: config.mail.smtpHost });
  return { identities, delegations, mail, smtp, close: async () => smtp?.close() };
}
