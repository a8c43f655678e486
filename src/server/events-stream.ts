/**
 * @module server/events-stream
 * `GET /v1/events?topics=run:*,mail:*&since=<seq>`: the caller tenant's kernel events (the event
 * bus's outbox) as one resumable Server-Sent Events stream, for live pages.
 *
 * Messages: each event is a default (`message`) SSE message, `id: <seq>`, `data: {seq, topic,
 * payload, ts}`. `event: ready` (`id:` the tenant's latest seq) opens a stream started without a
 * cursor, so a browser that reconnects before any event still resumes from there. `event: reset`
 * (`id`/`data.seq`: the tenant's latest seq) means the events after the client's cursor can no
 * longer be replayed (the outbox was pruned past it, or more than `maxBacklog` of them are waiting):
 * re-read the page's state, then keep listening. `: ping` comments keep idle proxies open.
 *
 * Resume contract: a client sends its last seen seq as `Last-Event-ID` (a browser does so itself)
 * or `?since=`; it then gets every matching event after that seq exactly once, in seq order, or a
 * `reset`. This holds because a tenant's events commit in seq order (see kernel/events/bus.ts): the
 * stream keeps one cursor, the last seq it sent, and only ever reads `seq > cursor`.
 *
 * How it is fed: the stream subscribes to the bus first, then reads the backlog through the kernel
 * (`kernel.events.read`, so grants are checked and the subscription audited once), then follows.
 * A bus delivery of a matching event wakes it; it waits `coalesceMs` so a burst is read as one page
 * and sent as one write, and reads the page after its cursor from the outbox, so an event that the
 * bus delivered while the backlog was read is neither lost nor sent twice. Streams of one tenant on the
 * same topics share one bus subscription and their reads of the outbox (shared-feed.ts). While any stream is
 * open, this process dispatches the outbox every `dispatchMs`; events that another process
 * dispatched wake nobody here, so each stream also reads every `pollMs`.
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { parseTopicPatterns, type Kernel } from '../kernel/index.ts';
import { frames, SharedFeeds, type FeedEvent } from './shared-feed.ts';
import { seqCursorOf } from './sse-cursor.ts';
import { sseWaker } from './sse-waker.ts';
import type { AppEnv } from './types.ts';

const PAGE = 500;

export interface EventStreamRoutesOptions {
  readonly kernel: Kernel;
  /** How often a stream reads the outbox without a wake-up. @default 2000 */
  readonly pollMs?: number;
  /** How often this process dispatches the outbox while streams are open. @default 100 */
  readonly dispatchMs?: number;
  /** How long a woken stream waits for more of a burst before it reads. @default 25 */
  readonly coalesceMs?: number;
  /** Idle time before a `: ping` comment. @default 15 000 */
  readonly heartbeatMs?: number;
  /** More events than this waiting after the cursor: a `reset` instead of a replay (at most 999,
   *  so the check is one `kernel.events.read` page). @default 500 */
  readonly maxBacklog?: number;
}

const marker = (event: 'ready' | 'reset', seq: number): string =>
  `event: ${event}\nid: ${seq}\ndata: ${JSON.stringify({ seq })}\n\n`;

/** Dispatches the kernel outbox on a timer while at least one stream holds it. */
function sharedDispatcher(kernel: Kernel, everyMs: number): { hold(): () => void } {
  let holders = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while ((await kernel.events.dispatch()) > 0);
    } catch (error) {
      kernel.logger.warn({ err: error }, 'event outbox dispatch failed');
    } finally {
      running = false;
    }
  };
  return {
    hold() {
      if (holders++ === 0) timer = setInterval(() => void tick(), everyMs).unref();
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        if (--holders === 0) clearInterval(timer);
      };
    },
  };
}

export function eventStreamRoutes(options: EventStreamRoutesOptions): Hono<AppEnv> {
  const { kernel } = options;
  const pollMs = options.pollMs ?? 2000;
  const coalesceMs = options.coalesceMs ?? 25;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBacklog = Math.min(options.maxBacklog ?? 500, 999);
  const dispatcher = sharedDispatcher(kernel, options.dispatchMs ?? 100);
  const feeds = new SharedFeeds(kernel, PAGE);
  const app = new Hono<AppEnv>();
  app.get('/events', async (c) => {
    const principal = c.get('principal');
    const tenant = principal.tenantId;
    const patterns = parseTopicPatterns(c.req.query('topics'));
    const since = seqCursorOf(c.req.header('last-event-id') ?? c.req.query('since'), 'since');
    const waker = sseWaker();
    // Subscribed before the backlog is read: what the bus delivers meanwhile wakes the loop.
    const feed = feeds.join(tenant, patterns, () => waker.poke());
    const release = dispatcher.hold();
    let first: { events: FeedEvent[]; head: number; reset: boolean };
    try {
      first = await kernel.call(
        'kernel.events.read',
        { after: since, topics: patterns, limit: maxBacklog + 1 },
        { principal },
      );
    } catch (error) {
      feed.leave();
      release();
      throw error;
    }
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => waker.poke());
      try {
        let cursor: number;
        if (since === undefined || first.reset || first.events.length > maxBacklog) {
          cursor = first.head;
          await stream.write(marker(since === undefined ? 'ready' : 'reset', cursor));
        } else {
          cursor = first.events.at(-1)?.seq ?? since;
          await stream.write(`: connected\n\n${frames(first.events)}`);
        }
        await follow(stream, cursor);
      } finally {
        feed.leave();
        release();
      }
    });

    async function follow(stream: SSEStreamingApi, from: number): Promise<void> {
      let cursor = from;
      let lastWrite = Date.now();
      /** When this stream last woke: a read of the shared feed started since then is fresh enough. */
      let wokeAt = performance.now();
      while (!stream.aborted) {
        const page = await feed.read(cursor, wokeAt);
        if (page.events.length > 0) {
          await stream.write(page.text);
          cursor = page.events.at(-1)?.seq ?? cursor;
          lastWrite = Date.now();
          if (page.events.length === PAGE) continue;
        } else if (Date.now() - lastWrite >= heartbeatMs) {
          await stream.write(': ping\n\n');
          lastWrite = Date.now();
        }
        await waker.idle(pollMs);
        wokeAt = performance.now();
        // Let the rest of a burst arrive: one read and one write for all of it.
        if (!stream.aborted) await new Promise((resolve) => setTimeout(resolve, coalesceMs));
      }
    }
  });
  return app;
}
