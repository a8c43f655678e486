// End-to-end tests of `strata tokens`: each step spawns the real CLI against one temp data dir.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonOf, tempCli } from './testing.ts';

interface Minted {
  token: string;
  claims: {
    jti: string;
    sub: string;
    ten: string;
    iat: number;
    exp: number;
    chain: string[];
    grants: unknown[];
  };
}
interface ErrorDoc {
  error: { code: string; message: string; data?: unknown };
}

const cli = tempCli();
let tenantId = '';

before(async () => {
  tenantId = (await cli.json<{ id: string }>(['tenants', 'create', 'acme'])).id;
});
after(() => cli.dispose());

test('tokens: issue, verify, attenuate, tamper (exit 4), revoke kills the chain', async () => {
  const root = await cli.json<Minted>([
    'tokens',
    'issue',
    '--tenant',
    'acme',
    '--subject',
    'agent-1',
    '--grant',
    'kernel.*',
    '--ttl',
    '30m',
  ]);
  assert.equal(root.claims.exp - root.claims.iat, 1800);
  assert.equal(root.claims.ten, tenantId);

  const verified = await cli.json<{ valid: boolean; claims: Minted['claims'] & { prf?: string } }>([
    'tokens',
    'verify',
    root.token,
  ]);
  assert.equal(verified.valid, true);
  assert.deepEqual(verified.claims.grants, [{ syscall: 'kernel.*', resource: '*' }]);

  const child = await cli.json<Minted>([
    'tokens',
    'attenuate',
    root.token,
    '--grant',
    'kernel.echo@kernel/echo',
    '--ttl',
    '600',
  ]);
  assert.deepEqual(child.claims.chain, [root.claims.jti]);
  const childVerified = await cli.run(['tokens', 'verify', child.token, '--json']);
  assert.equal(childVerified.code, 0);
  assert.ok(!childVerified.stdout.includes(root.token), 'claims must not embed the parent token (prf)');

  const widened = await cli.run(['tokens', 'attenuate', child.token, '--grant', 'kernel.time', '--json']);
  assert.equal(widened.code, 4);
  assert.equal(jsonOf<ErrorDoc>(widened).error.code, 'E_ATTENUATION');

  const [header, payload, signature] = root.token.split('.');
  const flipped = `${signature?.[0] === 'A' ? 'B' : 'A'}${signature?.slice(1) ?? ''}`;
  const tampered = await cli.run(['tokens', 'verify', `${header}.${payload}.${flipped}`, '--json']);
  assert.equal(tampered.code, 4);
  assert.equal(jsonOf<ErrorDoc>(tampered).error.code, 'E_TOKEN_INVALID');

  const called = await cli.json([
    'syscalls',
    'call',
    'kernel.echo',
    '--input',
    '{"message":"t"}',
    '--token',
    child.token,
  ]);
  assert.deepEqual(called, { message: 't', hadSecret: false });

  await cli.json(['tokens', 'revoke', '--tenant', 'acme', root.claims.jti, '--reason', 'test']);
  const revoked = await cli.run(['tokens', 'verify', child.token]);
  assert.equal(revoked.code, 4);
  assert.match(revoked.stderr, /E_TOKEN_REVOKED/);
});
