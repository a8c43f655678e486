/**
 * @module server/shared-feed
 * The event streams of one tenant that follow the same topic patterns share one bus watch
 * and their outbox reads. Ten open dashboards on a busy fleet are ten streams woken by the same
 * dispatch at the same moment, each reading the same page after the same cursor: without sharing,
 * each one queries the outbox, parses every payload and serialises every frame itself.
 *
 * A read is shared only with a stream that woke up before it started (`notBefore`): such a read
 * sees every event committed before that stream was woken, in particular the one that woke it, so
 * a shared page is as complete as the stream's own read would have been. Anything committed after
 * the read started wakes the stream again, as before.
 */
import { readFeed, topicMatches, type Kernel, type StrataEvent } from '../kernel/index.ts';

export type FeedEvent = Pick<StrataEvent, 'seq' | 'topic' | 'payload' | 'ts'>;

/** Events and their SSE frames (written as one chunk). */
export interface FeedPage {
  readonly events: readonly FeedEvent[];
  readonly text: string;
}

/** SSE text of events; JSON has no line breaks, so each is one `data:` line. */
export const frames = (events: readonly FeedEvent[]): string =>
  events
    .map(
      (e) =>
        `id: ${e.seq}\ndata: ${JSON.stringify({ seq: e.seq, topic: e.topic, payload: e.payload, ts: e.ts })}\n\n`,
    )
    .join('');

/** How long a finished read stays available to streams that woke before it started. */
const READ_KEPT_MS = 1000;

export interface FeedMember {
  /** The page after `after` from a read that started at or after `notBefore` (performance.now()). */
  read(after: number, notBefore: number): Promise<FeedPage>;
  leave(): void;
}

interface SharedRead {
  readonly startedAt: number;
  readonly page: Promise<FeedPage>;
}

interface FeedOf {
  readonly kernel: Kernel;
  readonly tenantId: string;
  readonly patterns: readonly string[];
  readonly pageSize: number;
}

class Feed {
  readonly pokes = new Set<() => void>();
  readonly #reads = new Map<number, SharedRead>();
  readonly #of: FeedOf;
  readonly unsubscribe: () => void;

  constructor(of: FeedOf) {
    const { kernel, tenantId, patterns } = of;
    this.#of = of;
    // Woken by a commit, not handed the events: they are read by seq, and shared (below).
    this.unsubscribe = kernel.events.watch((written) => {
      const ours = (e: { tenantId: string; topic: string }) =>
        e.tenantId === tenantId && patterns.some((p) => topicMatches(p, e.topic));
      if (written !== undefined && !written.some(ours)) return;
      for (const poke of this.pokes) poke();
    });
  }

  read(after: number, notBefore: number): Promise<FeedPage> {
    const shared = this.#reads.get(after);
    if (shared && shared.startedAt >= notBefore) return shared.page;
    const startedAt = performance.now();
    for (const [cursor, old] of this.#reads)
      if (startedAt - old.startedAt > READ_KEPT_MS) this.#reads.delete(cursor);
    const { kernel, tenantId, patterns, pageSize } = this.#of;
    // The frames are made once, for the first stream that writes them (a dashboard's live view
    // reads the events and writes none of them).
    const page = readFeed(kernel.store, { tenantId, after, patterns, limit: pageSize }).then((events) => {
      let text: string | undefined;
      return {
        events,
        get text() {
          return (text ??= frames(events));
        },
      };
    });
    const entry = { startedAt, page };
    this.#reads.set(after, entry);
    // A failed read is not shared: the next stream tries again.
    page.catch(() => this.#reads.get(after) === entry && this.#reads.delete(after));
    return page;
  }
}

/** The feeds of one route: joined by each stream, dropped (with their watch) by the last. */
export class SharedFeeds {
  readonly #feeds = new Map<string, Feed>();
  readonly #kernel: Kernel;
  readonly #pageSize: number;

  constructor(kernel: Kernel, pageSize: number) {
    this.#kernel = kernel;
    this.#pageSize = pageSize;
  }

  /** Joins the tenant's feed of `patterns`; `poke` is called for each matching event delivered. */
  join(tenantId: string, patterns: readonly string[], poke: () => void): FeedMember {
    const sorted = [...patterns].sort();
    const key = `${tenantId}\0${sorted.join(',')}`;
    let feed = this.#feeds.get(key);
    if (!feed) {
      feed = new Feed({ kernel: this.#kernel, tenantId, patterns: sorted, pageSize: this.#pageSize });
      this.#feeds.set(key, feed);
    }
    const joined = feed;
    joined.pokes.add(poke);
    let member = true;
    return {
      read: (after, notBefore) => joined.read(after, notBefore),
      leave: () => {
        if (!member) return;
        member = false;
        joined.pokes.delete(poke);
        if (joined.pokes.size === 0 && this.#feeds.get(key) === joined) {
          this.#feeds.delete(key);
          joined.unsubscribe();
        }
      },
    };
  }
}
