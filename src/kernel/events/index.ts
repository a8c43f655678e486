/** @module kernel/events — the event bus and its outbox; see `bus.ts`. */
export {
  EventBus,
  publishEvent,
  publishEvents,
  topicMatches,
  type EventBusOptions,
  type EventHandler,
  type NewEvent,
  type StrataEvent,
} from './bus.ts';
export { isGap, outboxBounds, parseTopicPatterns, readFeed, type OutboxBounds } from './feed.ts';
export { EVENTS_LAYER, eventMigrations } from './migrations.ts';
