/**
 * @module kernel/builtins/events
 * `kernel.events.read`: the caller tenant's events from the kernel outbox after a seq, filtered by
 * topic patterns. It is how `GET /v1/events` checks the caller's grants (and audits the
 * subscription) before it streams. `reset: true` means the outbox can no longer bring a reader at
 * `after` up to date (pruned past it, or a seq this store never wrote): start again from `head`.
 */
import { z } from 'zod';
import { isGap, isTopicPattern, MAX_TOPIC_PATTERNS, outboxBounds, readFeed } from '../events/feed.ts';
import type { Store } from '../store/store.ts';
import { defineSyscall } from '../syscalls/define.ts';

const eventOut = z.object({
  seq: z.number().int(),
  topic: z.string(),
  payload: z.unknown(),
  ts: z.number().int(),
});

export function eventsRead(store: Store) {
  return defineSyscall({
    name: 'kernel.events.read',
    description:
      'The tenant’s kernel events (topics like run:step:failed) after a seq, oldest first, filtered by topic patterns (run:*); without `after`, none and the current head.',
    input: z
      .object({
        after: z.number().int().nonnegative().optional(),
        topics: z
          .array(z.string().refine(isTopicPattern, 'a topic pattern like run:* or run:step:failed'))
          .min(1)
          .max(MAX_TOPIC_PATTERNS)
          .default(['*']),
        limit: z.number().int().min(1).max(1000).default(100),
      })
      .strict(),
    output: z.object({ events: z.array(eventOut), head: z.number().int(), reset: z.boolean() }),
    idempotency: 'pure',
    resource: () => 'kernel/events',
    handler: async (input, ctx) => {
      const bounds = await outboxBounds(store, ctx.tenantId);
      if (input.after === undefined || isGap(input.after, bounds))
        return { events: [], head: bounds.head, reset: input.after !== undefined };
      const events = await readFeed(store, {
        tenantId: ctx.tenantId,
        after: input.after,
        patterns: input.topics,
        limit: input.limit,
      });
      return {
        events: events.map((e) => ({ seq: e.seq, topic: e.topic, payload: e.payload, ts: e.ts })),
        head: bounds.head,
        reset: false,
      };
    },
  });
}
