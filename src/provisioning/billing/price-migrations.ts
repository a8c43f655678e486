/**
 * Schema of the price book: insert-only price versions. A version is never updated or deleted;
 * a new price for a meter is a new row with a later `effective_from` and the next `version`.
 * `tenant_id` is `*` for the global default a tenant's own versions override. The two UNIQUE
 * constraints make concurrent writers of the same meter collide (one gets `E_CONFLICT`) instead of
 * interleaving versions out of order.
 */
import type { Migration } from '../../kernel/index.ts';

export const PRICES_LAYER = 'prices';

export const priceMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'versioned prices',
    up: `
      CREATE TABLE bill_prices (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        meter TEXT NOT NULL,
        version INTEGER NOT NULL,
        currency TEXT NOT NULL,
        definition TEXT NOT NULL,
        effective_from BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (tenant_id, meter, version),
        UNIQUE (tenant_id, meter, effective_from)
      );
      CREATE INDEX bill_prices_meter ON bill_prices (meter, tenant_id, effective_from);`,
  },
];
