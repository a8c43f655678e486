/**
 * Authentication through the HTTP surface, on both store engines: API keys, capability tokens as
 * bearers, `Strata-Capability` narrowing (only for the key the token was issued to, only within
 * its tenant), and 401 for every unusable credential.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, get, openTestEnv, post, type Dialect, type ServerTestEnv } from './testing.ts';

for (const dialect of ['sqlite', 'postgres'] as const satisfies Dialect[]) {
  void describe(`authentication on ${dialect}`, () => {
    let env: ServerTestEnv;
    let admin: Awaited<ReturnType<ServerTestEnv['tenant']>>;
    before(async () => {
      env = await openTestEnv({ dialect });
      admin = await env.tenant();
    });
    after(() => env.close());

    void it('POST runs a syscall with a capability token as the bearer', async () => {
      const grants = [{ syscall: 'kernel.echo', resource: '*' }];
      const { token, claims } = await env.kernel.authority.issue({
        tenantId: admin.tenantId,
        subject: 'agt-1',
        grants,
        ttlSeconds: 600,
      });
      const echo = await post(env.app, 'kernel.echo', { message: 'from agent' }, { key: token });
      assert.equal(echo.status, 200);
      const me = (await (await get(env.app, '/v1/whoami', token)).json()) as Record<string, unknown>;
      assert.equal(me['kind'], 'agent');
      assert.equal(me['tokenJti'], claims.jti);
      const denied = await post(env.app, 'kernel.time', {}, { key: token });
      assert.equal(denied.status, 403);
      assert.equal(codeOf(denied.json), 'E_CAPABILITY_DENIED');
    });

    void it('Strata-Capability narrows an API key to a token issued to it, and only to it', async () => {
      const grants = [{ syscall: 'kernel.time', resource: '*' }];
      const issue = (subject: string) =>
        env.kernel.authority.issue({ tenantId: admin.tenantId, subject, grants, ttlSeconds: 600 });
      const { token } = await issue(admin.keyId);
      const headers = { 'strata-capability': token };
      assert.equal((await post(env.app, 'kernel.time', {}, { key: admin.key, headers })).status, 200);
      const narrowed = await post(env.app, 'kernel.echo', { message: 'x' }, { key: admin.key, headers });
      assert.equal(narrowed.status, 403, 'the key acts only with the token’s grants');
      const other = await issue('key_someone_else');
      const borrowed = await post(
        env.app,
        'kernel.time',
        {},
        { key: admin.key, headers: { 'strata-capability': other.token } },
      );
      assert.equal(borrowed.status, 401);
      const tokenTwice = await post(env.app, 'kernel.time', {}, { key: token, headers });
      assert.equal(codeOf(tokenTwice.json), 'E_UNAUTHENTICATED');
    });

    void it('refuses unusable credentials with 401', async () => {
      for (const authorization of [
        'Basic abc',
        'Bearer',
        'Bearer not-a-credential',
        'Bearer sk_nope',
        'Bearer a.b.c',
      ]) {
        const res = await env.app.request('/v1/whoami', { headers: { authorization } });
        assert.equal(res.status, 401, authorization);
        assert.match(
          String(codeOf((await res.json()) as Record<string, unknown>)),
          /^E_(UNAUTHENTICATED|TOKEN_INVALID)$/,
        );
      }
    });

    void it('GET routes need credentials too', async () => {
      for (const path of ['/v1/whoami', '/v1/syscalls', '/v1/syscalls/kernel.echo']) {
        assert.equal((await get(env.app, path)).status, 401, path);
      }
    });
  });
}
