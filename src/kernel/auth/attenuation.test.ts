import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SignJWT } from 'jose';
import { isStrataError } from '../errors.ts';
import type { Grant } from './grants.ts';
import type { Principal } from './principal.ts';
import { onEveryStore, realSigningKey, uniqueName, withCode as code, type AuthTestEnv } from './testing.ts';

const MAIL: Grant = {
  syscall: 'mail.*',
  resource: 'mail/outbox/*',
  constraints: { input: { to: 'ops@example.com' }, maxCostMicros: 1_000 },
};

async function parent(
  env: AuthTestEnv,
  grants: Grant[] = [MAIL],
): Promise<{ token: string; tenantId: string }> {
  const tenant = await env.principals.createTenant(uniqueName('att'));
  const { token } = await env.authority.issue({
    tenantId: tenant.id,
    subject: 'agt_p',
    grants,
    ttlSeconds: 600,
  });
  return { token, tenantId: tenant.id };
}

onEveryStore('attenuation and authorization', (env) => {
  void it('narrows grants, chains ancestors, and inherits or shortens expiry', async () => {
    const { authority } = env();
    const root = await parent(env());
    const rootClaims = await authority.verify(root.token);
    const narrow = { ...MAIL, syscall: 'mail.send', constraints: { ...MAIL.constraints, maxCostMicros: 10 } };
    const child = await authority.attenuate(root.token, { grants: [narrow], subject: 'agt_c' });
    assert.equal(child.claims.exp, rootClaims.exp);
    assert.deepEqual(child.claims.chain, [rootClaims.jti]);
    assert.equal(child.claims.prf, root.token);
    assert.equal(child.claims.sub, 'agt_c');
    const grandchild = await authority.attenuate(child.token, { grants: [narrow], ttlSeconds: 30 });
    assert.deepEqual((await authority.verify(grandchild.token)).chain, [rootClaims.jti, child.claims.jti]);
    assert.equal(grandchild.claims.sub, 'agt_c');
  });

  void it('cannot widen the syscall, resource, constraints or expiry', async () => {
    const { authority } = env();
    const { token } = await parent(env());
    const wider: Grant[] = [
      { ...MAIL, syscall: '*' },
      { ...MAIL, syscall: 'compute.exec' },
      { ...MAIL, resource: 'mail/*' },
      { ...MAIL, resource: 'mail/outboxes/x' },
      { ...MAIL, constraints: { maxCostMicros: 1_000 } },
      { ...MAIL, constraints: { input: { to: 'evil@example.com' }, maxCostMicros: 1_000 } },
      { ...MAIL, constraints: { input: { to: 'ops@example.com' } } },
      { ...MAIL, constraints: { input: { to: 'ops@example.com' }, maxCostMicros: 1_001 } },
    ];
    for (const grant of wider) {
      await assert.rejects(authority.attenuate(token, { grants: [MAIL, grant] }), (error: unknown) => {
        assert.ok(code('E_ATTENUATION')(error) && isStrataError(error));
        assert.match(error.message, new RegExp(`${grant.syscall.replace('*', '\\*')} on`));
        return true;
      });
    }
    await assert.rejects(
      authority.attenuate(token, { grants: [MAIL], ttlSeconds: 601 }),
      code('E_ATTENUATION'),
    );
  });

  void it('revoking or expiring a parent kills its children and grandchildren', async () => {
    const { authority, clock } = env();
    const root = await parent(env());
    const child = await authority.attenuate(root.token, { grants: [MAIL] });
    const grandchild = await authority.attenuate(child.token, { grants: [MAIL] });
    const sibling = await authority.attenuate(root.token, { grants: [MAIL], ttlSeconds: 60 });
    await authority.verify(grandchild.token);
    await authority.revoke(root.tenantId, child.claims.jti, 'task cancelled');
    await assert.rejects(authority.verify(child.token), code('E_TOKEN_REVOKED'));
    await assert.rejects(authority.verify(grandchild.token), code('E_TOKEN_REVOKED'));
    await assert.rejects(authority.attenuate(child.token, { grants: [MAIL] }), code('E_TOKEN_REVOKED'));
    await authority.verify(sibling.token);
    clock.advance(600_000);
    await assert.rejects(authority.verify(sibling.token), code('E_TOKEN_EXPIRED'));
  });

  void it('refuses a wider child even when it is signed with the real key', async () => {
    const { authority } = env();
    const root = await parent(env());
    const p = await authority.verify(root.token);
    const { kid, privateKey } = await realSigningKey(env());
    const forge = (changes: Record<string, unknown>) =>
      new SignJWT({ ...p, jti: `tok_forged_${uniqueName('f')}`, prf: root.token, chain: [p.jti], ...changes })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'strata-cap+jwt' })
        .sign(privateKey);
    assert.equal((await authority.verify(await forge({}))).prf, root.token, 'the forge itself is sound');
    const forgeries = [
      { grants: [{ syscall: '*', resource: '*' }] },
      { grants: [{ syscall: 'mail.send', resource: 'mail/outbox/x' }] },
      { exp: p.exp + 1 },
      { ten: 'ten_other' },
      { chain: [] },
      { chain: ['tok_elsewhere'] },
    ];
    for (const changes of forgeries) {
      await assert.rejects(authority.verify(await forge(changes)), code('E_TOKEN_INVALID'));
    }
  });

  void it('limits a chain to 8 ancestors', async () => {
    const { authority } = env();
    let { token } = await parent(env());
    for (let depth = 1; depth <= 8; depth++)
      ({ token } = await authority.attenuate(token, { grants: [MAIL] }));
    assert.equal((await authority.verify(token)).chain.length, 8);
    await assert.rejects(authority.attenuate(token, { grants: [MAIL] }), code('E_ATTENUATION'));
  });

  void it('takes the tenant from the token, so tenant A never acts in tenant B', async () => {
    const { authority, principals } = env();
    const a = await parent(env(), [{ syscall: '*', resource: '*' }]);
    const b = await principals.createTenant(uniqueName('b'));
    const { key: keyB, record } = await principals.createApiKey({ tenantId: b.id, name: 'b', grants: [] });
    const agent = await authority.authenticate({ token: a.token }, principals);
    assert.equal(agent.tenantId, a.tenantId);
    assert.equal(agent.kind, 'agent');
    // The call's input may name another tenant; the principal's tenant does not move.
    authority.authorize(agent, {
      syscall: 'memory.search',
      resource: 'memory/x',
      input: { tenantId: b.id },
      costMicros: 0,
    });
    assert.equal(agent.tenantId, a.tenantId);
    await assert.rejects(
      authority.authenticate({ apiKey: keyB, token: a.token }, principals),
      code('E_UNAUTHENTICATED'),
    );
    const claims = await authority.verify(a.token);
    await assert.rejects(authority.revoke(b.id, claims.jti, 'x'), code('E_NOT_FOUND'));
    const forB = await authority.issue({
      tenantId: a.tenantId,
      subject: record.id,
      grants: [],
      ttlSeconds: 60,
    });
    await assert.rejects(
      authority.authenticate({ apiKey: keyB, token: forB.token }, principals),
      code('E_UNAUTHENTICATED'),
    );
  });

  void it('narrows an API key with a token issued to it, and needs some credential', async () => {
    const { authority, principals } = env();
    const tenant = await principals.createTenant(uniqueName('kt'));
    const wide = [{ syscall: '*', resource: '*' }];
    const { key, record } = await principals.createApiKey({ tenantId: tenant.id, name: 'k', grants: wide });
    const narrow = [{ syscall: 'kernel.echo', resource: 'kernel/echo' }];
    const { token, claims } = await authority.issue({
      tenantId: tenant.id,
      subject: record.id,
      grants: narrow,
      ttlSeconds: 60,
    });
    const principal = await authority.authenticate({ apiKey: key, token }, principals);
    assert.deepEqual(principal, {
      tenantId: tenant.id,
      id: record.id,
      kind: 'api_key',
      grants: narrow,
      tokenJti: claims.jti,
    });
    assert.deepEqual((await authority.authenticate({ apiKey: key }, principals)).grants, wide);
    await assert.rejects(authority.authenticate({}, principals), code('E_UNAUTHENTICATED'));
  });

  void it('denies by default and never echoes input values', () => {
    const { authority } = env();
    const nobody: Principal = { tenantId: 'ten_x', id: 'agt_x', kind: 'agent', grants: [] };
    const call = {
      syscall: 'kernel.echo',
      resource: 'kernel/echo',
      input: { secret: 'hunter2' },
      costMicros: 0,
    };
    assert.throws(
      () => authority.authorize(nobody, call),
      (error: unknown) => {
        assert.ok(code('E_CAPABILITY_DENIED')(error) && isStrataError(error));
        assert.match(error.message, /kernel\.echo.*kernel\/echo/);
        assert.equal(JSON.stringify(error.toJSON()).includes('hunter2'), false);
        return true;
      },
    );
    const echo: Grant = { syscall: 'kernel.*', resource: 'kernel/echo' };
    assert.equal(authority.authorize({ ...nobody, grants: [echo] }, call), echo);
  });
});
