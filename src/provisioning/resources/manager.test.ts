// The provisioner's state machine, idempotency, metering, idle policy and bad input, on both store
// engines, with the real SQLite resource driver (database files on disk).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Meters } from '../billing/meter.ts';
import { BILLING_LAYER, billingMigrations } from '../billing/migrations.ts';
import { SqliteResourceDriver } from './drivers/sqlite.ts';
import { ResourceManager } from './manager.ts';
import { SealedSecretStore } from './secrets.ts';
import { ResourceSweeper } from './sweeper.ts';

const T = 'ten_res';
const START = Date.UTC(2026, 10, 30, 23, 50);
const MINUTE = 60_000;

onEveryStore('resource manager', (db) => {
  let store: Store;
  let dir: string;
  let clock: ManualClock;
  let meters: Meters;
  let manager: ResourceManager;
  let sweeper: ResourceSweeper;

  before(async () => {
    store = await db().open();
    await store.migrate(BILLING_LAYER, billingMigrations);
    dir = mkdtempSync(join(tmpdir(), 'strata-res-'));
    clock = new ManualClock(START);
    meters = new Meters({ store, clock });
    manager = await ResourceManager.open({
      store,
      drivers: [new SqliteResourceDriver({ dir })],
      secrets: new SealedSecretStore({ store, masterKey: randomBytes(32), clock }),
      meters,
      clock,
    });
    sweeper = new ResourceSweeper(manager, { pendingTimeoutMs: MINUTE });
  });
  after(async () => {
    await manager.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sum = async (type: string, resourceId?: string): Promise<string> =>
    (await meters.aggregate(T, { type, from: START - MINUTE, to: clock.now() + 1, resourceId })).value;
  const files = (): string[] => (existsSync(join(dir, T)) ? readdirSync(join(dir, T)) : []);

  test('provision → use → idle → suspend → resume → destroy, every step recorded and metered', async () => {
    const made = await manager.provision(T, { kind: 'sqlite', name: 'notes', labels: { team: 'a' } });
    assert.equal(made.state, 'ready');
    const path = made.env['SQLITE_PATH'] as string;
    const conn = new Database(path);
    conn.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42)');
    conn.close();

    clock.advance(2 * MINUTE);
    assert.equal((await manager.use(T, 'notes')).resource.state, 'ready'); // resets the idle timer
    clock.advance(4 * MINUTE);
    assert.equal((await sweeper.sweep()).suspended, 0, 'not idle yet: used 4 minutes ago');
    clock.advance(MINUTE);
    assert.equal((await sweeper.sweep()).suspended, 1, 'idle for the default 5 minutes');
    assert.equal((await manager.get(T, 'notes')).state, 'suspended');
    // 7 minutes ready (provision to suspension); nothing accrues while suspended.
    clock.advance(10 * MINUTE);
    const used = await manager.use(T, 'notes'); // the next use resumes it
    assert.equal(used.resource.state, 'ready');
    const reopened = new Database(path, { readonly: true });
    assert.deepEqual(
      reopened.prepare('SELECT x FROM t').get(),
      { x: 42 },
      'data survives suspend and resume',
    );
    reopened.close();
    clock.advance(3 * MINUTE);
    const gone = await manager.destroy(T, 'notes', { wait: true });
    assert.equal(gone.state, 'destroyed');
    assert.equal(existsSync(path), false, 'the file is gone');

    assert.equal(await sum('sqlite.ready_seconds', made.id), '600', '7 + 3 minutes ready, to the second');
    assert.equal(await sum('sqlite.provisions', made.id), '1');
    const history = await manager.history(T, made.id);
    assert.deepEqual(
      history.map((h) => `${h.from ?? '-'}→${h.to}`),
      [
        '-→pending',
        'pending→ready',
        'ready→suspended',
        'suspended→ready',
        'ready→destroying',
        'destroying→destroyed',
      ],
    );
    assert.equal(history[2]?.reason, 'idle');
    assert.equal(history[2]?.at, START + 7 * MINUTE);
    const transitions = await meters.aggregate(T, {
      type: 'resource.transitions',
      from: START - MINUTE,
      to: clock.now() + 1,
      resourceId: made.id,
    });
    assert.equal(transitions.value, '5', 'one meter event per transition after pending');
  });

  test('the same idempotency key 100 times at once: one resource, one charge, identical replies', async () => {
    const before = files().length;
    const replies = await Promise.all(
      Array.from({ length: 100 }, () =>
        manager.provision(T, { kind: 'sqlite', name: 'shared', idempotencyKey: 'k-shared' }),
      ),
    );
    const first = replies[0];
    for (const reply of replies) assert.deepEqual(reply, first);
    assert.equal(first?.state, 'ready');
    assert.equal(files().length, before + 1, 'one database file');
    assert.equal((await manager.list(T, { state: 'ready' })).filter((r) => r.name === 'shared').length, 1);
    assert.equal(await sum('sqlite.provisions', first?.id), '1', 'charged once');
    // The same key with another request is a conflict, and creates nothing.
    await assert.rejects(
      manager.provision(T, { kind: 'sqlite', name: 'other', idempotencyKey: 'k-shared' }),
      withCode('E_CONFLICT'),
    );
    assert.equal(files().length, before + 1);
  });

  test('bad input gets a stable code and creates nothing', async () => {
    const count = async (): Promise<number> => (await manager.list(T)).length;
    const n = await count();
    const fileCount = files().length;
    for (const name of ["x'; DROP TABLE prov_resources; --", 'a'.repeat(64), 'Upper', '1abc', '', 'é'])
      await assert.rejects(
        manager.provision(T, { kind: 'sqlite', name }),
        withCode('E_INVALID_RESOURCE_NAME'),
      );
    await manager.provision(T, { kind: 'sqlite', name: 'a'.repeat(63) }); // 63 bytes is the limit
    await assert.rejects(
      manager.provision(T, { kind: 'mongodb', name: 'm' }),
      withCode('E_UNKNOWN_RESOURCE_KIND'),
    );
    await assert.rejects(
      manager.provision(T, { kind: 'sqlite', name: 'cfg', config: { pageSize: 'huge' } }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      manager.provision(T, { kind: 'sqlite', name: 'a'.repeat(63) }),
      withCode('E_CONFLICT'),
    );
    assert.equal(await count(), n + 1, 'only the valid one exists');
    assert.equal(files().length, fileCount + 1);
  });

  test('illegal transitions are refused with E_RESOURCE_STATE; destroy twice, resume after destroy', async () => {
    const r = await manager.provision(T, { kind: 'sqlite', name: 'short-lived' });
    await manager.destroy(T, r.id, { wait: true });
    await assert.rejects(manager.destroy(T, r.id), withCode('E_RESOURCE_STATE'));
    await assert.rejects(manager.resume(T, r.id), withCode('E_RESOURCE_STATE'));
    await assert.rejects(manager.suspend(T, r.id), withCode('E_RESOURCE_STATE'));
    await assert.rejects(manager.get(T, 'no-such'), withCode('E_NOT_FOUND'));
    await assert.rejects(
      manager.get('ten_other', r.id),
      withCode('E_NOT_FOUND'),
      'another tenant sees nothing',
    );
    // The name is free again once destroyed.
    const again = await manager.provision(T, { kind: 'sqlite', name: 'short-lived' });
    assert.notEqual(again.id, r.id);
    assert.equal((await manager.get(T, 'short-lived')).id, again.id, 'a name finds the live resource');
  });

  test('a TTL destroys the resource exactly when it expires, metered to the millisecond', async () => {
    const r = await manager.provision(T, {
      kind: 'sqlite',
      name: 'ttl',
      ttlMs: 30 * MINUTE,
      idleMs: 60 * MINUTE,
    });
    clock.advance(30 * MINUTE - 1);
    await sweeper.sweep();
    assert.equal((await manager.get(T, r.id)).state, 'ready', 'not a millisecond early');
    clock.advance(1);
    assert.equal((await sweeper.sweep()).expired, 1);
    assert.equal((await manager.get(T, r.id)).state, 'destroyed');
    assert.equal(await sum('sqlite.ready_seconds', r.id), '1800');
  });

  test('env lists live resources with secrets redacted; transitions of other tenants stay apart', async () => {
    await manager.provision('ten_b', { kind: 'sqlite', name: 'mine' });
    const env = await manager.env('ten_b');
    assert.deepEqual(Object.keys(env), ['MINE_SQLITE_PATH']);
    assert.equal((await manager.env('ten_c'))['MINE_SQLITE_PATH'], undefined);
  });
});
