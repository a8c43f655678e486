/** @module kernel/events — the event bus and its outbox; see `bus.ts`. */
export { EventBus, type EventHandler, type StrataEvent } from './bus.ts';
export { EVENTS_LAYER, eventMigrations } from './migrations.ts';
