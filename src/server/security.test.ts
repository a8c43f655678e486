/**
 * Authorization and tenancy through the HTTP surface, proved on both store engines: denials are
 * refused and audited, and tenants cannot reach each other's tokens, audit entries or keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, openTestEnv, post, type Dialect, type ServerTestEnv } from './testing.ts';

for (const dialect of ['sqlite', 'postgres'] as const satisfies Dialect[]) {
  void describe(`server security on ${dialect}`, () => {
    let env: ServerTestEnv;
    before(async () => {
      env = await openTestEnv({ dialect });
    });
    after(() => env.close());

    void it('a key without a grant gets 403 E_CAPABILITY_DENIED, and the denial is audited', async () => {
      const { tenantId, key } = await env.tenant([{ syscall: 'kernel.time', resource: '*' }]);
      const res = await post(env.app, 'kernel.echo', { message: 'no' }, { key });
      assert.equal(res.status, 403);
      assert.equal(codeOf(res.json), 'E_CAPABILITY_DENIED');
      const entries = await env.kernel.audit.list(tenantId);
      const denial = entries.find((e) => e.action === 'kernel.echo');
      assert.equal(denial?.outcome, 'denied');
      assert.equal(denial.errorCode, 'E_CAPABILITY_DENIED');
    });

    void it('tenant A can neither revoke B’s token nor read B’s audit log', async () => {
      const a = await env.tenant();
      const b = await env.tenant();
      const grants = [{ syscall: 'kernel.echo', resource: '*' }];
      const { token, claims } = await env.kernel.authority.issue({
        tenantId: b.tenantId,
        subject: 'agt-b',
        grants,
        ttlSeconds: 600,
      });
      assert.equal((await post(env.app, 'kernel.echo', { message: 'b' }, { key: token })).status, 200);
      assert.equal((await post(env.app, 'kernel.echo', { message: 'a' }, { key: a.key })).status, 200);

      const revoke = await post(env.app, 'kernel.tokens.revoke', { jti: claims.jti }, { key: a.key });
      assert.equal(revoke.status, 404);
      assert.equal(codeOf(revoke.json), 'E_NOT_FOUND');
      assert.equal((await post(env.app, 'kernel.echo', { message: 'still' }, { key: token })).status, 200);

      const audit = await post(env.app, 'kernel.audit.list', { limit: 1000 }, { key: a.key });
      assert.equal(audit.status, 200);
      const entries = (audit.json['output'] as { entries: { tenantId: string }[] }).entries;
      assert.ok(entries.length >= 2);
      assert.ok(entries.every((e) => e.tenantId === a.tenantId));
      assert.ok(
        (await env.kernel.audit.list(b.tenantId)).length >= 2,
        'B’s entries exist; A just cannot see them',
      );
    });

    void it('a capability token of tenant B cannot narrow a key of tenant A', async () => {
      const a = await env.tenant();
      const b = await env.tenant();
      const grants = [{ syscall: 'kernel.echo', resource: '*' }];
      const { token } = await env.kernel.authority.issue({
        tenantId: b.tenantId,
        subject: a.keyId,
        grants,
        ttlSeconds: 600,
      });
      const res = await post(
        env.app,
        'kernel.echo',
        { message: 'x' },
        { key: a.key, headers: { 'strata-capability': token } },
      );
      assert.equal(res.status, 401);
    });
  });
}
