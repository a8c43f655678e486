import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.ts';
import { ApiKeyCache, formatApiKey, hashSecret, newSecret, parseApiKey, secretMatches } from './api-keys.ts';
import type { Principal } from './principal.ts';

const principal: Principal = {
  tenantId: 'ten_1',
  id: 'key_01J0000000000000000000000A',
  kind: 'api_key',
  grants: [],
};

void describe('api key format', () => {
  void it('round-trips sk_<id>_<secret>, even when the secret contains _ and -', () => {
    const secret = `_-${newSecret().slice(2)}`;
    const key = formatApiKey(principal.id, secret);
    assert.deepEqual(parseApiKey(key), { id: principal.id, secret });
    assert.equal(newSecret().length, 43);
    for (const bad of [
      '',
      'sk_',
      `${key}x`,
      key.slice(1),
      key.replace('key_', 'kex_'),
      `sk_${principal.id}_short`,
    ]) {
      assert.equal(parseApiKey(bad), undefined, bad);
    }
  });

  void it('matches a secret against its stored hash only', () => {
    const secret = newSecret();
    assert.equal(secretMatches(secret, hashSecret(secret)), true);
    assert.equal(secretMatches(newSecret(), hashSecret(secret)), false);
    assert.equal(secretMatches(secret, 'not-hex'), false);
  });
});

void describe('api key cache', () => {
  void it('serves an entry for 5 s, and only to the right secret', () => {
    const clock = new ManualClock(1_000);
    const cache = new ApiKeyCache(clock);
    const secret = newSecret();
    cache.set(principal.id, hashSecret(secret), principal, cache.generation);
    assert.equal(cache.get(principal.id, secret), principal);
    assert.equal(cache.get(principal.id, newSecret()), undefined);
    clock.advance(4_999);
    assert.equal(cache.get(principal.id, secret), principal);
    clock.advance(1);
    assert.equal(cache.get(principal.id, secret), undefined);
  });

  void it('never caches a lookup that raced a revocation', () => {
    const cache = new ApiKeyCache(new ManualClock(0));
    const secret = newSecret();
    const before = cache.generation; // a lookup starts and reads the row…
    cache.delete(principal.id); // …while the key is revoked
    cache.set(principal.id, hashSecret(secret), principal, before);
    assert.equal(cache.get(principal.id, secret), undefined);
  });

  void it('stays bounded', () => {
    const cache = new ApiKeyCache(new ManualClock(0), 5_000, 2);
    const secret = newSecret();
    for (const id of ['a', 'b', 'c']) cache.set(id, hashSecret(secret), principal, cache.generation);
    assert.equal(cache.get('a', secret), undefined);
    assert.equal(cache.get('c', secret), principal);
  });
});
