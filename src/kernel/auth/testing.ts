/**
 * @module kernel/auth/testing
 * Test support for the auth tests (not exported from the module index): runs one suite against both
 * real engines, SQLite in memory and a fresh PostgreSQL database, so every behaviour is proved on
 * both dialects by the same code.
 */
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { createTestDatabase } from '../../testkit/pg.ts';
import { ManualClock } from '../clock.ts';
import { open } from '../crypto/sealed-box.ts';
import { isStrataError } from '../errors.ts';
import { createPostgresStore } from '../store/drivers/postgres/index.ts';
import { createSqliteStore } from '../store/drivers/sqlite/index.ts';
import type { Store } from '../store/store.ts';
import { CapabilityAuthority } from './capabilities.ts';
import { Principals } from './principals.ts';

export interface AuthTestEnv {
  readonly store: Store;
  readonly clock: ManualClock;
  readonly masterKey: Buffer;
  readonly principals: Principals;
  readonly authority: CapabilityAuthority;
}

/** An assertion predicate for `assert.rejects`/`throws`: a StrataError with this code. */
export const withCode = (expected: string) => (error: unknown) =>
  isStrataError(error) && error.code === expected;

let seq = 0;
/** Unique names, so tests sharing a store never collide. */
export const uniqueName = (base: string): string => `${base}-${++seq}`;

/** Defines `describe(<title> on sqlite|postgres)` and calls `suite` inside each with a ready env. */
export function onEveryStore(title: string, suite: (env: () => AuthTestEnv) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    void describe(`${title} on ${dialect}`, () => {
      let env: AuthTestEnv | undefined;
      let drop: (() => Promise<void>) | undefined;
      before(async () => {
        let store: Store;
        if (dialect === 'sqlite') {
          store = await createSqliteStore({ path: ':memory:' });
        } else {
          const db = await createTestDatabase();
          drop = db.drop;
          store = await createPostgresStore({ connectionString: db.url });
        }
        const clock = new ManualClock(Date.UTC(2030, 0, 1));
        const masterKey = randomBytes(32);
        const authority = await CapabilityAuthority.open({ store, clock, masterKey });
        env = { store, clock, masterKey, principals: new Principals({ store, clock }), authority };
      });
      after(async () => {
        await env?.store.close();
        await drop?.();
      });
      suite(() => {
        if (env === undefined) throw new Error('test store is not ready');
        return env;
      });
    });
  }
}

/** The real private signing key, unsealed as only a holder of the master key could: for forgery tests. */
export async function realSigningKey(env: AuthTestEnv): Promise<{ kid: string; privateKey: KeyObject }> {
  const row = await env.store.get<{ kid: string; private_sealed: string }>(
    'SELECT kid, private_sealed FROM kernel_signing_keys WHERE retired_at IS NULL',
  );
  if (row === undefined) throw new Error('no active signing key');
  const jwk = JSON.parse(
    open(env.masterKey, row.private_sealed, `kernel_signing_keys:${row.kid}`).toString('utf8'),
  ) as {
    kty: string;
  };
  return { kid: row.kid, privateKey: createPrivateKey({ key: jwk, format: 'jwk' }) };
}
