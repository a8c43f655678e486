/**
 * Schema of mail events and webhooks, its own migration layer (`mail_events`) so it never collides
 * with the mail layer's versions. `mail_events` is an outbox: a row is written in the transaction
 * that stores the message, so an event exists exactly when its message does. `seq` is a global
 * identity (BIGSERIAL / INTEGER PRIMARY KEY AUTOINCREMENT: never reused, even after deletes);
 * `mail_event_heads` is locked per tenant before each insert, so within a tenant events commit in
 * `seq` order and a reader resuming after `seq` N can never miss a smaller one committed later.
 * `mail_webhooks` keep their secret sealed; `mail_deliveries` are one per (webhook, event), claimed
 * with a lease; `mail_delivery_attempts` is the delivery log.
 */
import type { Migration } from '../../kernel/index.ts';

export const MAIL_EVENTS_LAYER = 'mail_events';

const seqColumn = {
  sqlite: 'seq INTEGER PRIMARY KEY AUTOINCREMENT',
  postgres: 'seq BIGSERIAL PRIMARY KEY',
} as const;

const schema = (dialect: keyof typeof seqColumn): string => `
  CREATE TABLE mail_event_heads (
    tenant TEXT PRIMARY KEY,
    events BIGINT NOT NULL
  );
  CREATE TABLE mail_events (
    ${seqColumn[dialect]},
    id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    mailbox_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX mail_events_tenant ON mail_events (tenant, seq);
  CREATE TABLE mail_webhooks (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    mailbox_id TEXT,
    url TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    events TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX mail_webhooks_tenant ON mail_webhooks (tenant);
  CREATE TABLE mail_deliveries (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_status INTEGER,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (webhook_id, event_seq)
  );
  CREATE INDEX mail_deliveries_due ON mail_deliveries (status, next_at);
  CREATE TABLE mail_delivery_attempts (
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    status_code INTEGER,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
  )
`;

export const mailEventMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'mail events outbox, webhooks, deliveries and their log',
    up: { sqlite: schema('sqlite'), postgres: schema('postgres') },
  },
];
