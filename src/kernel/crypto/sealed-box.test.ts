import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.ts';
import { open, parseMasterKey, seal } from './sealed-box.ts';

const key = randomBytes(32);
const code = (expected: string) => (error: unknown) => isStrataError(error) && error.code === expected;

/** Flips one character of a base64url part without changing its length. */
function flip(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const p = parts[part] ?? '';
  parts[part] = (p[0] === 'A' ? 'B' : 'A') + p.slice(1);
  return parts.join('.');
}

void describe('sealed-box', () => {
  void it('round-trips, with and without aad', () => {
    const secret = Buffer.from('private jwk here');
    assert.deepEqual(open(key, seal(key, secret)), secret);
    assert.deepEqual(open(key, seal(key, secret, 'row:1'), 'row:1'), secret);
    assert.deepEqual(open(key, seal(key, Buffer.alloc(0))), Buffer.alloc(0));
  });

  void it('uses a fresh IV, so equal plaintexts seal differently', () => {
    const sealed = seal(key, Buffer.from('same'));
    assert.match(sealed, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.notEqual(sealed, seal(key, Buffer.from('same')));
  });

  void it('refuses tampering, a wrong key, a wrong aad and bad formats, without leaking', () => {
    const sealed = seal(key, Buffer.from('top secret'), 'row:1');
    const attempts = [
      () => open(key, flip(sealed, 1), 'row:1'),
      () => open(key, flip(sealed, 2), 'row:1'),
      () => open(key, flip(sealed, 3), 'row:1'),
      () => open(randomBytes(32), sealed, 'row:1'),
      () => open(key, sealed, 'row:2'),
      () => open(key, sealed),
      () => open(key, sealed.replace('v1.', 'v9.'), 'row:1'),
      () => open(key, 'garbage', 'row:1'),
    ];
    for (const attempt of attempts) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(code('E_INTERNAL')(error));
        const text = JSON.stringify(error) + String(error);
        assert.equal(text.includes('top secret'), false);
        assert.equal(text.includes(key.toString('base64')), false);
        return true;
      });
    }
  });

  void it('parses a 32-byte base64 master key and refuses anything else naming masterKey', () => {
    const raw = randomBytes(32);
    assert.deepEqual(parseMasterKey(raw.toString('base64')), raw);
    assert.deepEqual(parseMasterKey(raw.toString('base64url')), raw);
    for (const bad of [
      '',
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      '!!!',
    ]) {
      assert.throws(
        () => parseMasterKey(bad),
        (error: unknown) =>
          code('E_CONFIG')(error) && isStrataError(error) && JSON.stringify(error.data).includes('masterKey'),
      );
    }
    assert.throws(() => seal(randomBytes(16), Buffer.from('x')), code('E_CONFIG'));
  });
});
