/**
 * @module kernel/events/feed
 * Reading the outbox as one tenant's feed, for subscribers that resume from a `seq` (the
 * `GET /v1/events` stream, `kernel.events.read`): topic patterns, the tenant's events after a seq
 * filtered by patterns, and the bounds of what the outbox still holds.
 *
 * Topic patterns follow the bus: `run:step:failed` (one topic), `run:*` (every topic under `run:`),
 * `*` (all). Segments are lower-case letters, digits, `_`, `-` and `.`; anything else is refused
 * so that a typo fails loudly instead of matching nothing forever.
 */
import { StrataError } from '../errors.ts';
import type { Queryable } from '../store/store.ts';
import type { StrataEvent } from './bus.ts';

const SEGMENT = '[a-z0-9][a-z0-9_.-]*';
const PATTERN = new RegExp(`^(\\*|${SEGMENT}(:${SEGMENT})*(:\\*)?)$`);
export const MAX_TOPIC_PATTERNS = 20;

export function isTopicPattern(pattern: string): boolean {
  return pattern.length <= 200 && PATTERN.test(pattern);
}

/** Parses `run:*,mail:message:received` into patterns; E_INVALID_INPUT for a malformed one. */
export function parseTopicPatterns(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return ['*'];
  const patterns = [...new Set(text.split(',').map((p) => p.trim()))];
  const bad = patterns.find((p) => !isTopicPattern(p));
  if (bad !== undefined || patterns.length > MAX_TOPIC_PATTERNS) {
    throw new StrataError('E_INVALID_INPUT', 'topics must be up to 20 comma-separated patterns like run:*', {
      issues: [{ path: ['topics'], message: bad === undefined ? 'too many patterns' : `bad pattern ${bad}` }],
    });
  }
  return patterns;
}

type FeedRow = {
  seq: number | string;
  topic: string;
  tenant_id: string;
  payload: string;
  ts: number | string;
};

/** The SQL condition (and its parameters) selecting topics that match any of `patterns`. */
function topicCondition(patterns: readonly string[]): { sql: string; params: (string | number)[] } {
  if (patterns.includes('*')) return { sql: '1 = 1', params: [] };
  const parts: string[] = [];
  const params: (string | number)[] = [];
  for (const p of patterns) {
    if (p.endsWith(':*')) {
      // substr, not LIKE: `_` in a topic is a LIKE wildcard, and SQLite's LIKE ignores case.
      const prefix = p.slice(0, -1);
      parts.push('substr(topic, 1, ?) = ?');
      params.push(prefix.length, prefix);
    } else {
      parts.push('topic = ?');
      params.push(p);
    }
  }
  return { sql: `(${parts.join(' OR ')})`, params };
}

/** The tenant's events after `after` whose topics match `patterns`, oldest first, at most `limit`. */
export async function readFeed(
  q: Queryable,
  o: { tenantId: string; after: number; patterns: readonly string[]; limit: number },
): Promise<StrataEvent[]> {
  const topics = topicCondition(o.patterns);
  const rows = await q.all<FeedRow>(
    `SELECT seq, topic, tenant_id, payload, ts FROM kernel_outbox
      WHERE tenant_id = ? AND seq > ? AND ${topics.sql} ORDER BY seq LIMIT ?`,
    [o.tenantId, o.after, ...topics.params, o.limit],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    topic: r.topic,
    tenantId: r.tenant_id,
    payload: JSON.parse(r.payload) as unknown,
    ts: Number(r.ts),
  }));
}

export interface OutboxBounds {
  /**
   * The tenant's latest seq (0 if none): where a new subscriber of the tenant starts. Not the
   * outbox's latest: on PostgreSQL the tenant may hold a lower seq in a transaction still open.
   */
  readonly head: number;
  /** The highest seq in the outbox (0 when empty). */
  readonly last: number;
  /** The lowest seq still held (`last + 1` when empty): events below it were pruned. */
  readonly floor: number;
}

/**
 * Three scalar subqueries, not `MAX(seq), MIN(seq) FROM kernel_outbox`: SQLite answers a lone MIN
 * or MAX from an end of the index, but both in one SELECT scan the whole outbox (milliseconds per
 * call with a busy fleet's outbox, paid by every live dashboard render and every stream opened).
 */
export const OUTBOX_BOUNDS_SQL = `SELECT (SELECT MAX(seq) FROM kernel_outbox WHERE tenant_id = ?) AS head,
  (SELECT MAX(seq) FROM kernel_outbox) AS last, (SELECT MIN(seq) FROM kernel_outbox) AS floor`;

export async function outboxBounds(q: Queryable, tenantId: string): Promise<OutboxBounds> {
  const row = await q.get<{ head: unknown; last: unknown; floor: unknown }>(OUTBOX_BOUNDS_SQL, [tenantId]);
  const last = Number(row?.last ?? 0);
  return { head: Number(row?.head ?? 0), last, floor: row?.floor == null ? last + 1 : Number(row.floor) };
}

/**
 * Whether a subscriber at `after` can no longer be brought up to date from the outbox: events
 * after it were pruned (`after + 1 < floor`), or it names a seq this store never wrote (or that
 * was pruned with everything after it). On PostgreSQL a rolled-back publish leaves a hole in the
 * sequence; a hole just above `after` at the bottom of a pruned outbox reads as pruned too (a
 * harmless extra reset).
 */
export function isGap(after: number, bounds: OutboxBounds): boolean {
  return after > bounds.last || (after + 1 < bounds.floor && after < bounds.last);
}
