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
 * How it is fed: the stream starts watching the bus first, then reads the backlog through the
 * kernel (`kernel.events.read`, so grants are checked and the subscription audited once), then
 * follows. A commit of a matching event in this process wakes it (`kernel.events.watch`: a wake-up,
 * not a delivery); it waits `coalesceMs` so a burst is read as one page and sent as one write, and
 * reads the page after its cursor from the outbox, so an event committed while the backlog was read
 * is neither lost nor sent twice. Streams of one tenant on the same topics share one watch and their
 * reads of the outbox (shared-feed.ts). While any stream is open, this process checks the outbox's
 * highest seq every `headCheckMs`, which is how events another process committed wake it; and each
 * stream also reads every `pollMs`.
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { parseTopicPatterns, type Kernel } from '../kernel/index.ts';
import { startFollowing } from './feed-follow.ts';
import { outboxHeadCheck } from './outbox-head-check.ts';
import { frames, SharedFeeds } from './shared-feed.ts';
import { seqCursorOf } from './sse-cursor.ts';
import type { AppEnv } from './types.ts';

const PAGE = 500;

export interface EventStreamRoutesOptions {
  readonly kernel: Kernel;
  /** How often a stream reads the outbox without a wake-up. @default 2000 */
  readonly pollMs?: number;
  /** How often this process checks the outbox for other processes' events while streams are open. @default 100 */
  readonly headCheckMs?: number;
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

export function eventStreamRoutes(options: EventStreamRoutesOptions): Hono<AppEnv> {
  const { kernel } = options;
  const pollMs = options.pollMs ?? 2000;
  const coalesceMs = options.coalesceMs ?? 25;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBacklog = Math.min(options.maxBacklog ?? 500, 999);
  const headCheck = outboxHeadCheck(kernel, options.headCheckMs ?? 100);
  const feeds = new SharedFeeds(kernel, PAGE);
  const app = new Hono<AppEnv>();
  app.get('/events', async (c) => {
    const principal = c.get('principal');
    const patterns = parseTopicPatterns(c.req.query('topics'));
    const since = seqCursorOf(c.req.header('last-event-id') ?? c.req.query('since'), 'since');
    const { feed, waker, first, leave } = await startFollowing(
      { kernel, feeds, headCheck },
      { principal, patterns: patterns, after: since, limit: maxBacklog + 1 },
    );
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => waker.stop());
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
        leave();
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
