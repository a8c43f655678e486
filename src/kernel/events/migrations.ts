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
];
