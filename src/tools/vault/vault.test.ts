/**
 * The vault on both stores: secrets sealed at rest under per-tenant data keys, rotation, connected
 * accounts winning over tenant-wide connections, tenant isolation, a wrong master key or a sealed
 * value moved to another row failing to open, and sources shared by two "processes".
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { ToolsLayer } from '../layer.ts';
import { Vault } from './vault.ts';

const SECRET = 'sk-live-Very-Secret-0042';

onEveryStore('vault', (db) => {
  let store: Store;
  let vault: Vault;
  const masterKey = randomBytes(32);
  const clock = new ManualClock(1_700_000_000_000);
  before(async () => {
    store = await db().open();
    vault = await Vault.open({ store, masterKey, clock });
  });
  after(() => store.close());

  void it('seals secrets at rest and injects them into headers or query', async () => {
    const info = await vault.put('t1', { name: 'gh', kind: 'bearer', secrets: { token: SECRET } });
    assert.equal(info.kind, 'bearer');
    assert.ok(!JSON.stringify(info).includes(SECRET));
    const rows = JSON.stringify(await store.all('SELECT * FROM tools_connections'));
    const keys = JSON.stringify(await store.all('SELECT * FROM tools_vault_keys'));
    assert.ok(!rows.includes(SECRET) && rows.includes('gh'));
    assert.match(keys, /"v1\./);
    const injected = await vault.inject('t1', 'gh', 'agt_1');
    assert.deepEqual(injected.headers, { Authorization: `Bearer ${SECRET}` });
    await vault.put('t1', {
      name: 'q',
      kind: 'api_key',
      secrets: { value: 'k-123' },
      meta: { in: 'query', paramName: 'key' },
    });
    assert.deepEqual((await vault.inject('t1', 'q', 'agt_1')).query, { key: 'k-123' });
  });

  void it('rotates in place, and a connected account wins over the tenant-wide one', async () => {
    await vault.put('t1', { name: 'gh', kind: 'bearer', secrets: { token: 'rotated-token' } });
    await vault.put('t1', {
      name: 'gh',
      owner: 'agt_2',
      kind: 'bearer',
      secrets: { token: 'agent-2-token' },
    });
    assert.equal((await vault.inject('t1', 'gh', 'agt_1')).headers['Authorization'], 'Bearer rotated-token');
    assert.equal((await vault.inject('t1', 'gh', 'agt_2')).headers['Authorization'], 'Bearer agent-2-token');
    assert.equal((await vault.list('t1')).filter((c) => c.name === 'gh').length, 2);
  });

  void it('isolates tenants and refuses tampering', async () => {
    await assert.rejects(vault.inject('t2', 'gh', 'agt_1'), withCode('E_NOT_FOUND'));
    await vault.put('t2', { name: 'gh', kind: 'bearer', secrets: { token: 'tenant-2' } });
    // A sealed value copied into another tenant's row does not open (AAD binds tenant/name/owner).
    const sealed = await store.get<{ sealed: string }>(
      "SELECT sealed FROM tools_connections WHERE tenant_id = 't1' AND name = 'gh' AND owner = ''",
    );
    await store.run("UPDATE tools_connections SET sealed = ? WHERE tenant_id = 't2' AND name = 'gh'", [
      sealed?.sealed ?? '',
    ]);
    await assert.rejects(vault.inject('t2', 'gh', 'agt_1'), withCode('E_INTERNAL'));
    // Another master key cannot open the data keys.
    const other = await Vault.open({ store, masterKey: randomBytes(32), clock });
    await assert.rejects(other.inject('t1', 'gh', 'agt_1'), withCode('E_INTERNAL'));
  });

  void it('validates shapes and removes', async () => {
    await assert.rejects(
      vault.put('t1', { name: 'x', kind: 'oauth2', secrets: {} }),
      withCode('E_INVALID_INPUT'),
    );
    await vault.remove('t1', 'q');
    await assert.rejects(vault.remove('t1', 'q'), withCode('E_NOT_FOUND'));
  });

  void it('two processes see the same tool sources', async () => {
    const second = await db().open();
    const a = await ToolsLayer.open({ store, masterKey, clock, syncIntervalMs: 0 });
    const b = await ToolsLayer.open({ store: second, masterKey, clock, syncIntervalMs: 0 });
    try {
      const doc = {
        openapi: '3.0.3',
        info: { title: 't', version: '1' },
        servers: [{ url: 'http://127.0.0.1:9' }],
        paths: { '/ping': { get: { operationId: 'ping', responses: { '200': { description: 'ok' } } } } },
      };
      await a.addOpenApi('t1', { config: { name: 'svc' }, document: doc });
      assert.deepEqual(
        (await b.list('t1')).map((t) => t.name),
        ['svc.ping'],
      );
      await a.removeSource('t1', 'svc', 'openapi');
      assert.deepEqual(await b.list('t1'), []);
    } finally {
      await a.close();
      await b.close();
      await second.close();
    }
  });
});
