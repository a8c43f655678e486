// kill -9 mid-provision, with real processes and the real PostgreSQL server: the database and role
// the dead process made are reaped (dropped), the resource ends `failed`, and nothing is billed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../src/kernel/clock.ts';
import { createPostgresStore } from '../src/kernel/store/drivers/postgres/index.ts';
import type { Store } from '../src/kernel/index.ts';
import {
  Meters,
  PostgresResourceDriver,
  ResourceManager,
  ResourceSweeper,
  SealedSecretStore,
  billingMigrations,
  BILLING_LAYER,
} from '../src/provisioning/index.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';

const TENANT = 'ten_crash';
const NAMESPACE = `crash${randomBytes(3).toString('hex')}`;
const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';

let db: { url: string; drop: () => Promise<void> };
let store: Store;
let driver: PostgresResourceDriver;

const objectsLeft = async (): Promise<number> => {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT (SELECT COUNT(*) FROM pg_database WHERE datname LIKE $1) + (SELECT COUNT(*) FROM pg_roles WHERE rolname LIKE $1) AS n`,
      [`${NAMESPACE}\\_r\\_%`],
    );
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
};

before(async () => {
  db = await createTestDatabase();
  store = await createPostgresStore({ connectionString: db.url });
  await store.migrate(BILLING_LAYER, billingMigrations);
  driver = new PostgresResourceDriver({ namespace: NAMESPACE, spares: 0 });
});
after(async () => {
  await driver?.close();
  await store?.close();
  await db?.drop();
});

test(
  'a process killed mid-provision leaves a half-made database that the sweeper reaps',
  { timeout: 60_000 },
  async () => {
    const child = spawn(process.execPath, ['test/fixtures/provision-crash.ts', db.url, TENANT, NAMESPACE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /created (\S+)\n/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`the child exited before creating: ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(await objectsLeft(), 2, 'the dead process left a database and a role behind');

    const clock = new ManualClock(Date.now());
    const meters = new Meters({ store, clock });
    const manager = await ResourceManager.open({
      store,
      drivers: [driver],
      secrets: new SealedSecretStore({ store, masterKey: randomBytes(32), clock }),
      meters,
      clock,
    });
    const sweeper = new ResourceSweeper(manager, { pendingTimeoutMs: 120_000 });
    assert.equal((await manager.get(TENANT, id)).state, 'pending');
    assert.equal((await sweeper.sweep()).reaped, 0, 'a fresh pending resource may still be in progress');
    clock.advance(120_000);
    assert.equal((await sweeper.sweep()).reaped, 1);

    const reaped = await manager.get(TENANT, id);
    assert.equal(reaped.state, 'failed');
    assert.match(reaped.error ?? '', /abandoned/);
    assert.equal(await objectsLeft(), 0, 'database and role dropped');
    assert.deepEqual(
      (await manager.history(TENANT, id)).map((t) => t.to),
      ['pending', 'failed'],
    );
    const billed = await store.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM bill_meter_events WHERE tenant_id = ? AND resource_id = ? AND type <> ?',
      [TENANT, id, 'resource.transitions'],
    );
    assert.equal(Number(billed?.n), 0, 'no provision and no ready time billed');
    assert.equal((await sweeper.sweep()).reaped, 0, 'reaping is done once');
    await manager.idle();
  },
);
