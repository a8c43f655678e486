import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { it } from 'node:test';
import { calculateJwkThumbprint, decodeProtectedHeader, SignJWT } from 'jose';
import { CapabilityAuthority } from './capabilities.ts';
import { onEveryStore, uniqueName, withCode as code, type AuthTestEnv } from './testing.ts';

const GRANTS = [{ syscall: 'kernel.*', resource: 'kernel/*' }];
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const part = (token: string, i: number): string => token.split('.')[i] ?? '';
const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part(token, 1), 'base64url').toString('utf8')) as Record<string, unknown>;

async function rootToken(env: AuthTestEnv, ttlSeconds = 60): Promise<{ token: string; tenantId: string }> {
  const tenant = await env.principals.createTenant(uniqueName('cap'));
  const { token } = await env.authority.issue({
    tenantId: tenant.id,
    subject: 'agt_1',
    grants: GRANTS,
    ttlSeconds,
  });
  return { token, tenantId: tenant.id };
}

onEveryStore('capability tokens', (env) => {
  void it('issues an EdDSA JWS that verifies, is recorded, and whose key is published', async () => {
    const { authority, store, clock } = env();
    const tenant = await env().principals.createTenant(uniqueName('issue'));
    const issued = await authority.issue({
      tenantId: tenant.id,
      subject: 'agt_1',
      grants: GRANTS,
      ttlSeconds: 60,
    });
    const header = decodeProtectedHeader(issued.token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'strata-cap+jwt');
    assert.deepEqual(await authority.verify(issued.token), issued.claims);
    assert.equal(issued.claims.ten, tenant.id);
    assert.equal(issued.claims.exp, Math.floor(clock.now() / 1000) + 60);
    assert.deepEqual(issued.claims.chain, []);
    const row = await store.get('SELECT * FROM kernel_tokens WHERE jti = ?', [issued.claims.jti]);
    assert.equal(row?.['tenant_id'], tenant.id);
    const { keys } = await authority.jwks();
    const published = keys.find((k) => k.kid === header.kid);
    assert.ok(published);
    assert.equal(published.d, undefined, 'the JWKS carries no private part');
  });

  void it('refuses an expired token, on first sight and after a cached verification', async () => {
    const { authority, clock } = env();
    const first = await rootToken(env(), 1);
    const second = await rootToken(env(), 60);
    await authority.verify(second.token);
    clock.advance(1_000);
    await assert.rejects(authority.verify(first.token), code('E_TOKEN_EXPIRED'));
    clock.advance(59_000);
    await assert.rejects(authority.verify(second.token), code('E_TOKEN_EXPIRED'));
  });

  void it('refuses tampered tokens', async () => {
    const { authority } = env();
    const { token } = await rootToken(env());
    const [h, p, s] = token.split('.') as [string, string, string];
    const i = Math.floor(p.length / 2);
    const flipped = `${h}.${p.slice(0, i)}${p[i] === 'A' ? 'B' : 'A'}${p.slice(i + 1)}.${s}`;
    const widened = `${h}.${b64({ ...payloadOf(token), grants: [{ syscall: '*', resource: '*' }] })}.${s}`;
    const badSig = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const unknownKid = `${b64({ ...decodeProtectedHeader(token), kid: 'x'.repeat(43) })}.${p}.${s}`;
    for (const bad of [flipped, widened, badSig, unknownKid, 'not-a-token', '']) {
      await assert.rejects(authority.verify(bad), code('E_TOKEN_INVALID'));
    }
  });

  void it('refuses alg:none and HS256 signed with the public key', async () => {
    const { authority } = env();
    const { token } = await rootToken(env());
    const header = decodeProtectedHeader(token);
    const payload = payloadOf(token);
    const none = `${b64({ ...header, alg: 'none' })}.${part(token, 1)}.`;
    const noneKeepSig = `${b64({ ...header, alg: 'none' })}.${part(token, 1)}.${part(token, 2)}`;
    const jwk = (await authority.jwks()).keys.find((k) => k.kid === header.kid);
    assert.ok(jwk?.x !== undefined);
    const pem = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const secrets = [Buffer.from(jwk.x, 'base64url'), Buffer.from(JSON.stringify(jwk)), Buffer.from(pem)];
    const forged = await Promise.all(
      secrets.map((secret) =>
        new SignJWT(payload).setProtectedHeader({ ...header, alg: 'HS256' }).sign(new Uint8Array(secret)),
      ),
    );
    for (const bad of [none, noneKeepSig, ...forged]) {
      await assert.rejects(authority.verify(bad), code('E_TOKEN_INVALID'));
    }
  });

  void it('refuses tokens signed by a key planted in the database without the master key', async () => {
    const { authority, store, clock } = env();
    const { token } = await rootToken(env());
    const planted = generateKeyPairSync('ed25519');
    const jwk = planted.publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
    await store.run(
      'INSERT INTO kernel_signing_keys (kid, public_jwk, private_sealed, created_at, retired_at) VALUES (?, ?, ?, ?, ?)',
      [kid, JSON.stringify({ ...jwk, kid }), 'v1.AAAA.AAAA.AAAA', clock.now(), clock.now()],
    );
    const forged = await new SignJWT({ ...payloadOf(token), grants: [{ syscall: '*', resource: '*' }] })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'strata-cap+jwt' })
      .sign(planted.privateKey);
    await assert.rejects(authority.verify(forged), code('E_TOKEN_INVALID'));
  });

  void it('refuses a revoked token; revocation is idempotent and tenant-scoped', async () => {
    const { authority, principals } = env();
    const { token, tenantId } = await rootToken(env());
    const { jti } = await authority.verify(token);
    const other = await principals.createTenant(uniqueName('other'));
    await assert.rejects(authority.revoke(other.id, jti, 'not yours'), code('E_NOT_FOUND'));
    await assert.rejects(authority.revoke(tenantId, 'tok_unknown', 'x'), code('E_NOT_FOUND'));
    await authority.verify(token);
    await authority.revoke(tenantId, jti, 'compromised');
    await authority.revoke(tenantId, jti, 'again');
    await assert.rejects(authority.verify(token), code('E_TOKEN_REVOKED'));
  });

  void it('validates what it is asked to issue', async () => {
    const { authority, principals } = env();
    const tenant = await principals.createTenant(uniqueName('validate'));
    const base = { tenantId: tenant.id, subject: 'agt_1', grants: GRANTS, ttlSeconds: 60 };
    await assert.rejects(authority.issue({ ...base, tenantId: 'ten_missing' }), code('E_NOT_FOUND'));
    await assert.rejects(authority.issue({ ...base, subject: '' }), code('E_INVALID_INPUT'));
    await assert.rejects(authority.issue({ ...base, ttlSeconds: 0 }), code('E_INVALID_INPUT'));
    await assert.rejects(authority.issue({ ...base, ttlSeconds: 1.5 }), code('E_INVALID_INPUT'));
    const badGrants = [{ syscall: 'kernel*', resource: '*' }];
    await assert.rejects(authority.issue({ ...base, grants: badGrants }), code('E_INVALID_INPUT'));
    const huge = Array.from({ length: 64 }, (_, i) => ({
      syscall: `s${i}`,
      resource: '*',
      constraints: { input: { note: 'x'.repeat(1_100) } },
    }));
    await assert.rejects(
      authority.issue({ ...base, grants: huge }),
      code('E_INVALID_INPUT'),
      'never mint >64 KB',
    );
  });

  void it('shares one new signing key between processes that open at once; retired keys still verify', async () => {
    const { store, clock, masterKey } = env();
    const old = await rootToken(env());
    // Retire the key so both openers find none and race to create one.
    await store.run('UPDATE kernel_signing_keys SET retired_at = ?', [clock.now()]);
    const [a, b] = await Promise.all([
      CapabilityAuthority.open({ store, clock, masterKey }),
      CapabilityAuthority.open({ store, clock, masterKey }),
    ]);
    const active = await store.all('SELECT kid FROM kernel_signing_keys WHERE retired_at IS NULL');
    assert.equal(active.length, 1);
    const fromA = await rootToken({ ...env(), authority: a });
    const fromB = await rootToken({ ...env(), authority: b });
    assert.equal(decodeProtectedHeader(fromA.token).kid, active[0]?.['kid']);
    assert.equal(decodeProtectedHeader(fromB.token).kid, active[0]?.['kid']);
    assert.equal((await b.verify(fromA.token)).sub, 'agt_1');
    assert.equal((await a.verify(old.token)).sub, 'agt_1');
    const kids = (await a.jwks()).keys.map((k) => k.kid);
    assert.ok(
      kids.includes(decodeProtectedHeader(old.token).kid) && kids.includes(String(active[0]?.['kid'])),
    );
  });

  void it('refuses to open with a master key that does not unseal the signing key', async () => {
    const { store, clock } = env();
    const masterKey = Buffer.alloc(32, 7);
    await assert.rejects(CapabilityAuthority.open({ store, clock, masterKey }), code('E_CONFIG'));
  });
});
