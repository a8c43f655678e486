/**
 * @module web/live-view
 * `GET /ui/live?view=/ui/runs?status=failed&topics=run:*&badge=…&run=<id>&since=<seq>`: a dashboard
 * page's one live stream. The server follows the tenant's events for the page and, when one touches
 * what the page shows, renders the view again and pushes the HTML; the page only swaps it in.
 *
 * Before this, the page received every matching event and re-fetched its view and its badge with a
 * request of its own. On a busy fleet that is hundreds of events a second written to each page and
 * up to five requests a second from each; ten open dashboards cost the server 5–8 % of a core, most
 * of it HTTP parsing and socket writes (bench/dashboard.ts). Here the events never leave the server
 * and a render is handed to the page on the stream it already holds.
 *
 * Messages: `event: view` (data: the inner HTML of `#view`), `event: badge` (data: `{"count":n}`),
 * each with `id:` the event seq it shows everything up to; `event: expired` (data: `{"location"}`)
 * when the session has expired or was revoked, then the stream ends; `event: ready` opens a stream
 * started without a cursor; `: ping` comments when idle.
 *
 * The resume contract is `/v1/events`' (server/events-stream.ts): the page embeds the seq it was
 * rendered at and the stream starts after it (later `Last-Event-ID`), so an event committed between
 * the render and the subscription is not lost: it is read from the outbox and re-renders the view.
 * A gap too old to replay (more than `maxBacklog` events, or pruned) re-renders the view and the
 * badge at once, the `reset` of `/v1/events`. Grants: the backlog is read with `kernel.events.read`
 * as the session (checked and audited once); every render is an in-process request of the view's
 * own route with the page's session cookie, so the session is checked again, the view reads as
 * the operator, and the pages on one view share the render (fragment-cache.ts).
 */
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { parseTopicPatterns, StrataError, topicMatches, type Kernel } from '../kernel/index.ts';
import { startFollowing } from '../server/feed-follow.ts';
import { outboxHeadCheck } from '../server/outbox-head-check.ts';
import { SharedFeeds, type FeedEvent } from '../server/shared-feed.ts';
import { seqCursorOf } from '../server/sse-cursor.ts';
import { LivePacer } from './live-pacer.ts';
import { liveRender, sseMessage, type ViewFetch } from './live-render.ts';
import { fragments } from './render.ts';
import { SESSION_COOKIE, type DashboardEnv } from './session.ts';

const PAGE = 500;
/** A view is rendered again at most every 250 ms, the badge's count read at most once a second,
 *  each on its grid of the process's clock (live-pacer.ts), so the pages of a view share renders. */
const VIEW_MIN_INTERVAL_MS = 250;
const BADGE_MIN_INTERVAL_MS = 1000;

export interface LiveViewOptions {
  readonly kernel: Kernel;
  /** The dashboard's own routes, called in process (`app.request`). */
  readonly fetchView: ViewFetch;
  /** How often a stream reads the outbox without a wake-up. @default 2000 */
  readonly pollMs?: number;
  /** How long a woken stream waits for more of a burst before it reads. @default 50 */
  readonly coalesceMs?: number;
  /** Idle time before a `: ping` comment. @default 15 000 */
  readonly heartbeatMs?: number;
  /** More events than this after the cursor re-render at once instead of being read. @default 500 */
  readonly maxBacklog?: number;
}

/** Pages a live stream may render: the dashboard's views, not its streams, assets or login. */
const NOT_A_VIEW = /^\/ui\/(live|events|assets|login|logout)(\/|$)|\/stream$/;

function viewUrlOf(text: string | undefined, origin: string): string {
  const bad = (message: string) =>
    new StrataError('E_INVALID_INPUT', `view must be a dashboard page (/ui/…): ${message}`, {
      issues: [{ path: ['view'], message }],
    });
  if (text === undefined || text === '') throw bad('missing');
  if (text.length > 2000 || !text.startsWith('/ui')) throw bad('not a /ui path');
  const url = new URL(text, origin);
  if (url.origin !== origin || !(url.pathname === '/ui' || url.pathname.startsWith('/ui/')))
    throw bad('not a /ui path');
  if (NOT_A_VIEW.test(url.pathname)) throw bad('not a view');
  return url.href;
}

/** Topic patterns of a query parameter; none when it is absent or empty (not `*`). */
const patternsOf = (text: string | undefined): string[] =>
  text === undefined || text.trim() === '' ? [] : parseTopicPatterns(text);

interface ViewFilter {
  readonly patterns: readonly string[];
  /** A run's page: only events about that run (or its children and parent). */
  readonly runId?: string;
  /** A list filtered by workflow: a run's event for another workflow does not change it. */
  readonly workflow?: string;
}

function touchesView(filter: ViewFilter, e: FeedEvent): boolean {
  if (!filter.patterns.some((p) => topicMatches(p, e.topic))) return false;
  const p = (e.payload ?? {}) as Record<string, unknown>;
  if (filter.workflow && e.topic.startsWith('run:') && typeof p['workflow'] === 'string')
    if (p['workflow'] !== filter.workflow) return false;
  if (filter.runId === undefined) return true;
  return [p['id'], p['runId'], p['rootId'], p['parentId']].includes(filter.runId);
}

export function liveViewRoutes(options: LiveViewOptions): Hono<DashboardEnv> {
  const { kernel, fetchView } = options;
  const pollMs = options.pollMs ?? 2000;
  const coalesceMs = options.coalesceMs ?? 50;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBacklog = Math.min(options.maxBacklog ?? 500, 999);
  const headCheck = outboxHeadCheck(kernel, 100);
  const feeds = new SharedFeeds(kernel, PAGE);
  const app = new Hono<DashboardEnv>();
  app.get('/live', async (c) => {
    const principal = c.get('principal');
    const origin = new URL(c.req.url).origin;
    const viewUrl = viewUrlOf(c.req.query('view'), origin);
    const run = c.req.query('run');
    const workflow = new URL(viewUrl).searchParams.get('workflow') ?? undefined;
    const view: ViewFilter = {
      patterns: patternsOf(c.req.query('topics')),
      ...(run ? { runId: run } : {}),
      ...(workflow ? { workflow } : {}),
    };
    const badgeTopics = patternsOf(c.req.query('badge'));
    const all = view.patterns.includes('*') ? ['*'] : [...new Set([...view.patterns, ...badgeTopics])];
    if (all.length === 0)
      throw new StrataError('E_INVALID_INPUT', 'a live view needs topics, badge topics or both', {
        issues: [{ path: ['topics'], message: 'no topics' }],
      });
    const lastEventId = c.req.header('last-event-id');
    const since = seqCursorOf(lastEventId ?? c.req.query('since'), 'since');
    const render = liveRender(
      { fetchView, authenticate: (token) => kernel.authenticate({ token }), fragments },
      { viewUrl, origin, token: getCookie(c, SESSION_COOKIE) ?? '', cookieName: SESSION_COOKIE },
    );
    const { feed, waker, first, leave } = await startFollowing(
      { kernel, feeds, headCheck },
      { principal, patterns: all, after: since, limit: maxBacklog + 1 },
    );
    const viewPacer = new LivePacer(VIEW_MIN_INTERVAL_MS);
    const badgePacer = new LivePacer(BADGE_MIN_INTERVAL_MS);
    const hasView = view.patterns.length > 0;
    const hasBadge = badgeTopics.length > 0;
    /** Marks the renders the events touch; a render already pending needs no further look. */
    const note = (events: readonly FeedEvent[], now: number) => {
      let forView = hasView && !viewPacer.pending;
      let forBadge = hasBadge && !badgePacer.pending;
      for (let i = 0; i < events.length && (forView || forBadge); i++) {
        const e = events[i] as FeedEvent;
        if (forView && touchesView(view, e)) {
          viewPacer.mark(now);
          forView = false;
        }
        if (forBadge && badgeTopics.some((p) => topicMatches(p, e.topic))) {
          badgePacer.mark(now);
          forBadge = false;
        }
      }
    };

    /** The badge's count last written: an unchanged count is not written again. */
    let badgeShown: string | undefined;

    return streamSSE(c, async (stream) => {
      stream.onAbort(() => waker.stop());
      try {
        let cursor: number;
        if (since === undefined) {
          cursor = first.head;
          await stream.write(sseMessage('ready', JSON.stringify({ seq: cursor }), cursor));
        } else if (first.reset || first.events.length > maxBacklog) {
          // Too far behind to read what changed: show the present.
          cursor = first.head;
          if (hasView) viewPacer.mark(0);
          if (hasBadge) badgePacer.mark(0);
          await stream.write(': connected\n\n');
        } else {
          cursor = first.events.at(-1)?.seq ?? since;
          note(first.events, Date.now());
          // A browser's reconnect: the id it names is the last message's, and the other of view
          // and badge may have had a render pending then, for events before it. Show both again.
          if (lastEventId !== undefined) {
            if (hasView) viewPacer.mark(0);
            if (hasBadge) badgePacer.mark(0);
          }
          await stream.write(': connected\n\n');
        }
        await follow(stream, cursor);
      } finally {
        leave();
      }
    });

    /** Writes what is due, view and badge in one write; false once the session is gone (the stream then ends). */
    async function push(stream: SSEStreamingApi, cursor: number): Promise<boolean> {
      const now = Date.now();
      const due: Uint8Array[] = [];
      // A view is written whenever it was rendered again; a badge only when its count changed.
      for (const [pacer, next, onlyChanged] of [
        [viewPacer, (seq: number) => render.view(seq), false],
        [badgePacer, (seq: number) => render.badge(seq), true],
      ] as const) {
        if (pacer.dueAt() > now) continue;
        const out = await next(cursor);
        if (out.kind === 'expired') {
          await stream.write(sseMessage('expired', JSON.stringify({ location: out.location })));
          return false;
        }
        pacer.rendered(Date.now());
        if (out.kind !== 'message') continue;
        if (onlyChanged) {
          if (out.data === badgeShown) continue;
          badgeShown = out.data;
        }
        due.push(out.message);
      }
      if (due.length > 0) await stream.write(due.length === 1 ? (due[0] as Uint8Array) : Buffer.concat(due));
      return true;
    }

    async function follow(stream: SSEStreamingApi, from: number): Promise<void> {
      let cursor = from;
      let lastWrite = Date.now();
      let wokeAt = performance.now();
      while (!stream.aborted) {
        const page = await feed.read(cursor, wokeAt);
        note(page.events, Date.now());
        cursor = page.events.at(-1)?.seq ?? cursor;
        if (page.events.length === PAGE) continue;
        const due = Math.min(viewPacer.dueAt(), badgePacer.dueAt());
        if (due <= Date.now()) {
          if (!(await push(stream, cursor))) return;
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= heartbeatMs) {
          await stream.write(': ping\n\n');
          lastWrite = Date.now();
        }
        const next = Math.min(viewPacer.dueAt(), badgePacer.dueAt(), lastWrite + heartbeatMs);
        // With every render this page follows already pending, an event changes nothing before the
        // next one is due: sleep through the pokes and read everything then.
        const throughPokes = (!hasView || viewPacer.pending) && (!hasBadge || badgePacer.pending);
        const wait = Math.max(0, Math.min(pollMs, next - Date.now()));
        const poked = await waker.idle(wait, { throughPokes });
        // A read started after the latest poke holds every event that poked (shared with the other
        // pages on the same cursor); woken by the clock, only a read from now on is sure to.
        wokeAt = poked ? waker.pokedAt : performance.now();
        // Let the rest of a burst arrive: one read for all of it.
        if (poked && !throughPokes && !stream.aborted)
          await new Promise((resolve) => setTimeout(resolve, coalesceMs));
      }
    }
  });
  return app;
}
