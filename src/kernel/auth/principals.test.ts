import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { isStrataError } from '../errors.ts';
import { Principals } from './principals.ts';
import { onEveryStore, uniqueName, withCode as code } from './testing.ts';

onEveryStore('principals', (env) => {
  void it('creates tenants with DNS-like names, refuses duplicates, finds by id or name', async () => {
    const { principals } = env();
    const name = uniqueName('acme');
    const tenant = await principals.createTenant(name);
    assert.match(tenant.id, /^ten_/);
    assert.deepEqual(await principals.getTenant(tenant.id), tenant);
    assert.deepEqual(await principals.getTenant(name), tenant);
    await assert.rejects(principals.createTenant(name), code('E_CONFLICT'));
    await assert.rejects(principals.getTenant('nope'), code('E_NOT_FOUND'));
    for (const bad of ['', 'Acme', '-acme', 'a_b', 'a'.repeat(64)]) {
      await assert.rejects(principals.createTenant(bad), code('E_INVALID_INPUT'), bad);
    }
    assert.ok((await principals.listTenants()).some((t) => t.id === tenant.id));
  });

  void it('stores API keys only as hashes and authenticates them', async () => {
    const { principals, store } = env();
    const tenant = await principals.createTenant(uniqueName('keys'));
    const grants = [{ syscall: 'kernel.*', resource: 'kernel/*' }];
    const { key, record } = await principals.createApiKey({ tenantId: tenant.id, name: 'ci', grants });
    assert.match(key, /^sk_key_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
    const secret = key.slice(-43);
    const rows = await store.all('SELECT * FROM kernel_api_keys WHERE id = ?', [record.id]);
    const dump = JSON.stringify(rows);
    assert.equal(dump.includes(key), false);
    assert.equal(dump.includes(secret), false);
    assert.equal(rows[0]?.['secret_hash'], createHash('sha256').update(secret).digest('hex'));

    const principal = await principals.authenticateApiKey(key);
    assert.deepEqual(principal, { tenantId: tenant.id, id: record.id, kind: 'api_key', grants });
    const listed = await principals.listApiKeys(tenant.id);
    assert.deepEqual(listed, [record]);
    assert.equal(JSON.stringify(listed).includes(String(rows[0]?.['secret_hash'])), false);
  });

  void it('refuses unknown, malformed, wrong-secret and revoked keys with one message that never echoes the key', async () => {
    const { principals } = env();
    const tenant = await principals.createTenant(uniqueName('revoke'));
    const { key, record } = await principals.createApiKey({ tenantId: tenant.id, name: 'k', grants: [] });
    await principals.authenticateApiKey(key); // now cached
    const wrongSecret = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const unknownId = key.replace(/key_[0-9A-Z]{26}/, `key_${'0'.repeat(26)}`);
    const messages = new Set<string>();
    for (const bad of [wrongSecret, unknownId, 'sk_nonsense', '', `${key}x`]) {
      await assert.rejects(principals.authenticateApiKey(bad), (error: unknown) => {
        assert.ok(code('E_UNAUTHENTICATED')(error));
        assert.ok(isStrataError(error));
        assert.equal(JSON.stringify(error.toJSON()).includes(key.slice(-43)), false);
        messages.add(error.message);
        return true;
      });
    }
    await principals.revokeApiKey(tenant.id, record.id);
    await principals.revokeApiKey(tenant.id, record.id); // idempotent
    await assert.rejects(principals.authenticateApiKey(key), (error: unknown) => {
      assert.ok(code('E_UNAUTHENTICATED')(error) && isStrataError(error));
      messages.add(error.message);
      return true;
    });
    assert.equal(messages.size, 1);
    const [listed] = await principals.listApiKeys(tenant.id);
    assert.equal(listed?.revokedAt, env().clock.now());
  });

  void it('keeps tenants apart: another tenant cannot revoke or list a key', async () => {
    const { principals } = env();
    const a = await principals.createTenant(uniqueName('a'));
    const b = await principals.createTenant(uniqueName('b'));
    const { key, record } = await principals.createApiKey({ tenantId: a.id, name: 'k', grants: [] });
    await assert.rejects(principals.revokeApiKey(b.id, record.id), code('E_NOT_FOUND'));
    assert.deepEqual(await principals.listApiKeys(b.id), []);
    assert.equal((await principals.authenticateApiKey(key)).tenantId, a.id);
    await assert.rejects(
      principals.createApiKey({ tenantId: 'ten_missing', name: 'k', grants: [] }),
      code('E_NOT_FOUND'),
    );
    await assert.rejects(
      principals.createApiKey({ tenantId: a.id, name: 'k', grants: [{ syscall: 'a.*.b', resource: '*' }] }),
      code('E_INVALID_INPUT'),
    );
  });

  void it('sees a revocation made by another process once the 5 s cache entry expires', async () => {
    const { principals, store, clock } = env();
    const other = new Principals({ store, clock }); // stands for a second Strata process
    const tenant = await principals.createTenant(uniqueName('stale'));
    const { key, record } = await principals.createApiKey({ tenantId: tenant.id, name: 'k', grants: [] });
    await principals.authenticateApiKey(key);
    await other.revokeApiKey(tenant.id, record.id);
    await assert.rejects(other.authenticateApiKey(key), code('E_UNAUTHENTICATED'));
    // Known and bounded: this process's cache still serves the key until its entry expires.
    assert.equal((await principals.authenticateApiKey(key)).id, record.id);
    clock.advance(5_000);
    await assert.rejects(principals.authenticateApiKey(key), code('E_UNAUTHENTICATED'));
  });

  void it('creates agents with names unique per tenant', async () => {
    const { principals } = env();
    const a = await principals.createTenant(uniqueName('agents-a'));
    const b = await principals.createTenant(uniqueName('agents-b'));
    const agent = await principals.createAgent({ tenantId: a.id, name: 'researcher' });
    assert.match(agent.id, /^agt_/);
    await assert.rejects(principals.createAgent({ tenantId: a.id, name: 'researcher' }), code('E_CONFLICT'));
    await principals.createAgent({ tenantId: b.id, name: 'researcher' });
    await assert.rejects(
      principals.createAgent({ tenantId: a.id, name: 'Bad Name' }),
      code('E_INVALID_INPUT'),
    );
    await assert.rejects(principals.createAgent({ tenantId: 'ten_x', name: 'x' }), code('E_NOT_FOUND'));
    assert.deepEqual(await principals.listAgents(a.id), [agent]);
  });
});
