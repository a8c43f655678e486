/**
 * @module server/feed-follow
 * How a live stream starts: it joins the tenant's shared feed first (so what commits from then on
 * wakes it), holds the outbox head check, then reads the backlog after the client's cursor through
 * the kernel (`kernel.events.read` as the caller: grants checked, the subscription audited once).
 * An event committed between the join and the read is in the read or wakes the stream after it:
 * either way it is read by seq, so it is neither lost nor sent twice.
 */
import type { Kernel, Principal } from '../kernel/index.ts';
import type { OutboxHeadCheck } from './outbox-head-check.ts';
import type { FeedEvent, FeedMember, SharedFeeds } from './shared-feed.ts';
import { sseWaker, type SseWaker } from './sse-waker.ts';

export interface Following {
  readonly feed: FeedMember;
  readonly waker: SseWaker;
  /** The backlog: up to `limit` events after the cursor, the tenant's head, and whether the
   *  cursor fell into a gap (pruned, or never written). */
  readonly first: { readonly events: FeedEvent[]; readonly head: number; readonly reset: boolean };
  /** Leaves the feed and lets go of the head check (once the stream ends). */
  readonly leave: () => void;
}

export async function startFollowing(
  deps: { readonly kernel: Kernel; readonly feeds: SharedFeeds; readonly headCheck: OutboxHeadCheck },
  from: {
    readonly principal: Principal;
    readonly patterns: readonly string[];
    /** The client's cursor; undefined: from now. */
    readonly after: number | undefined;
    readonly limit: number;
  },
): Promise<Following> {
  const { principal, patterns, after, limit } = from;
  const waker = sseWaker();
  const feed = deps.feeds.join(principal.tenantId, patterns, () => waker.poke());
  const release = deps.headCheck.hold();
  const leave = () => {
    feed.leave();
    release();
  };
  try {
    const first = await deps.kernel.call<Following['first']>(
      'kernel.events.read',
      { after, topics: patterns, limit },
      { principal },
    );
    return { feed, waker, first, leave };
  } catch (error) {
    leave();
    throw error;
  }
}
