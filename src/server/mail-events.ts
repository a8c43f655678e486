/**
 * @module server/mail-events
 * `GET /v1/mail/events`: the caller tenant's mail events as Server-Sent Events (`id:` the event's
 * seq, `event:` its type, `data:` the event as `mail.events.list` gives it). `?mailbox=` narrows to
 * one mailbox. A client resumes with `Last-Event-ID` (or `?after=`): it gets exactly the events after
 * that seq, because a tenant's events commit in seq order (see identity/mail/events.ts). Without a
 * cursor the stream starts at the tenant's latest event.
 *
 * The first page goes through the kernel as `mail.events.list`, so the caller's grants are checked
 * and the subscription audited once; later pages are read directly, woken by this process's new
 * events and by polling (events committed by other processes). Comments keep idle proxies open.
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Kernel } from '../kernel/index.ts';
import { eventOut, type MailEvents } from '../identity/index.ts';
import { seqCursorOf } from './sse-cursor.ts';
import type { AppEnv } from './types.ts';

const PAGE = 100;

export interface MailEventRoutesOptions {
  readonly kernel: Kernel;
  readonly events: MailEvents;
  /** How often the store is read without a wake-up. @default 1000 */
  readonly pollMs?: number;
  /** Idle time before a `: ping` comment. @default 15 000 */
  readonly heartbeatMs?: number;
}

type Event = ReturnType<typeof eventOut>;

export function mailEventRoutes(options: MailEventRoutesOptions): Hono<AppEnv> {
  const { kernel, events } = options;
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const app = new Hono<AppEnv>();
  app.get('/mail/events', async (c) => {
    const principal = c.get('principal');
    const tenant = principal.tenantId;
    const mailbox = c.req.query('mailbox');
    const cursor = seqCursorOf(c.req.header('last-event-id') ?? c.req.query('after'), 'after');
    const start = cursor ?? (await events.head(tenant));
    const first = await kernel.call<{ events: Event[]; mailboxId: string | null }>(
      'mail.events.list',
      { after: start, limit: PAGE, ...(mailbox ? { mailbox } : {}) },
      { principal },
    );
    const mailboxId = first.mailboxId ?? undefined;
    return streamSSE(c, async (stream) => {
      // A first line at once: headers reach the client now, not with the first event.
      await stream.write(': connected\n\n');
      let signalled = false;
      let wake: (() => void) | undefined;
      const poke = (): void => {
        signalled = true;
        wake?.();
      };
      const unsubscribe = events.onAppended((t) => t === tenant && poke());
      stream.onAbort(poke);
      try {
        await pump(stream, {
          first: first.events,
          after: start,
          next: async (after) =>
            (await events.list(tenant, { after, limit: PAGE, ...(mailboxId ? { mailboxId } : {}) })).map(
              eventOut,
            ),
          idle: async () => {
            if (!signalled) {
              await new Promise<void>((resolve) => {
                wake = resolve;
                setTimeout(resolve, pollMs).unref();
              });
            }
            wake = undefined;
            signalled = false;
          },
          heartbeatMs,
        });
      } finally {
        unsubscribe();
      }
    });
  });
  return app;
}

/** Writes pages until the client goes away, waiting between empty reads. */
async function pump(
  stream: SSEStreamingApi,
  o: {
    first: Event[];
    after: number;
    next: (after: number) => Promise<Event[]>;
    idle: () => Promise<void>;
    heartbeatMs: number;
  },
): Promise<void> {
  let page = o.first;
  let after = o.after;
  let lastWrite = Date.now();
  while (!stream.aborted) {
    for (const event of page) {
      await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
      after = event.seq;
      lastWrite = Date.now();
    }
    if (page.length < PAGE) {
      if (Date.now() - lastWrite >= o.heartbeatMs) {
        await stream.write(': ping\n\n');
        lastWrite = Date.now();
      }
      await o.idle();
    }
    if (stream.aborted) return;
    page = await o.next(after);
  }
}
