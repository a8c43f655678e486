/** Schema of the event outbox. `seq` is an increasing integer on both engines. */
import type { Migration } from '../store/store.ts';

export const EVENTS_LAYER = 'kernel.events';

const columns = `topic TEXT NOT NULL, tenant_id TEXT NOT NULL, payload TEXT NOT NULL, ts BIGINT NOT NULL,
  delivered_at BIGINT`;

export const eventMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox',
    up: {
      sqlite: `CREATE TABLE kernel_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, ${columns});
        CREATE INDEX kernel_outbox_pending ON kernel_outbox (seq) WHERE delivered_at IS NULL;`,
      postgres: `CREATE TABLE kernel_outbox (seq BIGSERIAL PRIMARY KEY, ${columns});
        CREATE INDEX kernel_outbox_pending ON kernel_outbox (seq) WHERE delivered_at IS NULL;`,
    },
  },
  {
    // A tenant's feed after a seq (kernel/events/feed.ts) without scanning other tenants' events.
    version: 2,
    name: 'outbox_tenant_seq',
    up: 'CREATE INDEX kernel_outbox_tenant_seq ON kernel_outbox (tenant_id, seq)',
  },
];
