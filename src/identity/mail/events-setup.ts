/**
 * Wires mail events into a mail service: migrates the `mail_events` layer, plugs the events
 * extension in with `mail.use`, and builds the webhooks and their dispatcher (not started).
 *
 * @example
 * const events = await openMailEvents({ mail, masterKey, logger });
 * for (const definition of mailEventSyscalls(events)) kernel.register(definition);
 * events.dispatcher.start();
 * // on shutdown:
 * await events.dispatcher.stop();
 */
import { systemClock, type Clock, type Logger } from '../../kernel/index.ts';
import { MailEvents } from './events.ts';
import type { Mail } from './mail.ts';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';
import { MailWebhooks } from './webhooks.ts';

export interface MailEventsLayer {
  readonly mail: Mail;
  readonly events: MailEvents;
  readonly webhooks: MailWebhooks;
  readonly dispatcher: WebhookDispatcher;
}

export async function openMailEvents(options: {
  mail: Mail;
  masterKey: Buffer;
  logger: Logger;
  clock?: Clock;
  /** Lets webhooks target private and loopback addresses: tests only. @default false */
  allowPrivate?: boolean;
  /** Retry and size settings of the dispatcher. */
  delivery?: Partial<Omit<WebhookDispatcherOptions, 'store' | 'events' | 'webhooks' | 'message' | 'logger'>>;
}): Promise<MailEventsLayer> {
  const { mail } = options;
  const clock = options.clock ?? systemClock;
  const events = await MailEvents.open({ store: mail.store, clock });
  mail.use(events);
  const webhooks = new MailWebhooks({
    store: mail.store,
    masterKey: options.masterKey,
    clock,
    allowPrivate: options.allowPrivate ?? false,
  });
  const dispatcher = new WebhookDispatcher({
    ...options.delivery,
    store: mail.store,
    events,
    webhooks,
    clock,
    message: (tenant, id) => mail.get(tenant, id),
    logger: options.logger.child({ component: 'mail-webhooks' }),
  });
  return { mail, events, webhooks, dispatcher };
}
