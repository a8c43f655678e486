/**
 * @module orchestration/approvals/open
 * Wires approvals and escalations into a runtime: their syscalls on the kernel, email decisions
 * as a mail extension, escalation notifications sent by mail through the identity layer, and the
 * escalation sweeper (dead-lettered runs, stale bumps, deliveries), and approval webhooks with
 * their outbox dispatcher. `close()` stops the sweepers and the dispatcher.
 */
import type { Clock, Kernel, Logger, Principal, Store } from '../../kernel/index.ts';
import { isStrataError } from '../../kernel/index.ts';
import type { AgentIdentities, Mail } from '../../identity/index.ts';
import type { Engine } from '../engine.ts';
import { escalationSyscalls } from '../escalations/syscalls.ts';
import { Escalations, type Notifier } from '../escalations/escalations.ts';
import { startEscalationSweeper } from '../escalations/sweeper.ts';
import { StallWatch, type StallPolicy } from '../supervision/stalls.ts';
import { Approvals } from './approvals.ts';
import { approvalReplies } from './mail-replies.ts';
import { approvalSyscalls } from './syscalls.ts';
import { ApprovalWebhookDispatcher, type ApprovalWebhookDeliveryOptions } from './webhook-dispatcher.ts';
import { approvalWebhookSyscalls } from './webhook-syscalls.ts';
import { ApprovalWebhooks } from './webhooks.ts';

export interface FleetAlerts {
  readonly approvals: Approvals;
  readonly escalations: Escalations;
  readonly stalls: StallWatch;
  readonly webhooks: ApprovalWebhooks;
  readonly webhookDispatcher: ApprovalWebhookDispatcher;
  close(): Promise<void>;
}

export interface FleetAlertsParts {
  readonly store: Store;
  readonly kernel: Kernel;
  readonly engine: Engine;
  readonly masterKey: Buffer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mail?: Mail;
  readonly identities?: AgentIdentities;
  /** Approval webhooks may target private and loopback addresses (`network.allowPrivate`): tests only. @default false */
  readonly allowPrivate?: boolean;
  /** Retry settings of approval webhook deliveries. */
  readonly webhookDelivery?: ApprovalWebhookDeliveryOptions;
  /** @default 5 s */
  readonly sweepIntervalMs?: number;
  /** Global stall policy (a workflow's `stall` option overrides it). @default 10 min, escalate, swept every 30 s */
  readonly stalls?: { readonly afterMs?: number; readonly policy?: StallPolicy; readonly sweepMs?: number };
}

const unlessNotFound = <T>(error: unknown): T | undefined => {
  if (isStrataError(error) && error.code === 'E_NOT_FOUND') return undefined;
  throw error;
};

/** Mail notifications: from the route's mailbox to its target, with who is on call. */
const mailNotifier =
  (mail: Mail): Notifier =>
  async (tenant, escalation, route) => {
    if (route.channel !== 'mail' || !route.mailbox || !route.target) return; // webhooks: stored only
    const mailbox = await mail.getMailbox(tenant, route.mailbox);
    const bumped = escalation.bumps > 0 ? ` (re-escalated ${escalation.bumps} times)` : '';
    await mail.send({
      tenant,
      mailboxId: mailbox.id,
      to: [route.target],
      subject: `[${escalation.severity}] ${escalation.title}${bumped}`,
      text: [
        `${escalation.severity} escalation ${escalation.id} from ${escalation.source}, seen ${escalation.count}×.`,
        escalation.detail ?? '',
        `On call: ${route.who.join(', ') || '(nobody named)'}`,
        `Acknowledge: strata escalations ack ${escalation.id}`,
      ].join('\n'),
    });
  };

export async function openFleetAlerts(parts: FleetAlertsParts): Promise<FleetAlerts> {
  const { store, kernel, engine, clock, logger, mail, identities } = parts;
  const agentNameOf = async (principal: Principal): Promise<string | undefined> =>
    (await kernel.principals.listAgents(principal.tenantId)).find((a) => a.id === principal.id)?.name;
  const approvals = await Approvals.open({
    store,
    engine,
    masterKey: parts.masterKey,
    clock,
    agentNameOf,
    agentSigner: identities
      ? async (tenant, name) => {
          const identity = await identities.get(tenant, name).catch(unlessNotFound);
          return identity ? (data) => identities.sign(tenant, name, data) : undefined;
        }
      : undefined,
  });
  const escalations = await Escalations.open({ store, clock });
  const webhooks = new ApprovalWebhooks({
    store,
    masterKey: parts.masterKey,
    clock,
    allowPrivate: parts.allowPrivate,
  });
  const webhookDispatcher = new ApprovalWebhookDispatcher({
    store,
    webhooks,
    clock,
    logger: logger.child({ component: 'approval-webhooks' }),
    options: parts.webhookDelivery,
  });
  const unsubscribe = approvals.onEvent(() => webhookDispatcher.kick());
  webhookDispatcher.start();
  for (const definition of [
    ...approvalSyscalls(approvals),
    ...approvalWebhookSyscalls(webhooks),
    ...escalationSyscalls(escalations),
  ])
    kernel.register(definition);
  if (mail) {
    mail.use(approvalReplies({ kernel, mail, approvals, logger }));
    escalations.setNotifier(mailNotifier(mail));
  }
  const sweeper = startEscalationSweeper(escalations, { intervalMs: parts.sweepIntervalMs, logger });
  const stalls = await StallWatch.open({ engine, ...parts.stalls });
  const stallSweeper = stalls.start({ intervalMs: parts.stalls?.sweepMs, logger });
  return {
    approvals,
    escalations,
    stalls,
    webhooks,
    webhookDispatcher,
    close: async () => {
      unsubscribe();
      await Promise.all([sweeper.stop(), stallSweeper.stop(), webhookDispatcher.stop()]);
    },
  };
}
