// End-to-end tests of `strata tenants | keys | syscalls`: each step spawns the real CLI against one
// temp data dir, so exit codes and output are exactly what a user gets.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { jsonOf, runCli, tempCli } from './testing.ts';

interface ErrorDoc {
  error: { code: string; message: string; data?: unknown };
}

const cli = tempCli();
let tenantId = '';
let echoKey = '';
let echoKeyId = '';
let timeKey = '';

before(async () => {
  tenantId = (await cli.json<{ id: string }>(['tenants', 'create', 'acme'])).id;
  const echo = await cli.json<{ id: string; key: string }>([
    'keys',
    'create',
    '--tenant',
    'acme',
    '--name',
    'echo',
    '--grant',
    'kernel.echo',
    '--grant',
    'kernel.whoami@*',
  ]);
  echoKey = echo.key;
  echoKeyId = echo.id;
  timeKey = (
    await cli.json<{ key: string }>(['keys', 'create', '--tenant', tenantId, '--grant', 'kernel.time'])
  ).key;
});
after(() => cli.dispose());

test('tenants ls and keys ls list what was created, never a secret', async () => {
  const tenants = await cli.json<{ tenants: { id: string; name: string }[] }>(['tenants', 'ls']);
  assert.deepEqual(
    tenants.tenants.map((t) => [t.id, t.name]),
    [[tenantId, 'acme']],
  );
  const listed = await cli.run(['keys', 'ls', '--tenant', 'acme', '--json']);
  assert.equal(listed.code, 0);
  const keys = jsonOf<{ keys: { id: string; name: string; grants: unknown[] }[] }>(listed).keys;
  assert.equal(keys.length, 2);
  assert.deepEqual(keys.find((k) => k.id === echoKeyId)?.grants, [
    { syscall: 'kernel.echo', resource: '*' },
    { syscall: 'kernel.whoami', resource: '*' },
  ]);
  const secret = echoKey.slice(echoKey.indexOf(echoKeyId) + echoKeyId.length + 1);
  assert.ok(secret.length > 10 && !listed.stdout.includes(secret), 'keys ls must not print secrets');
});

test('syscalls call runs through the pipeline: allowed with the grant, denied (exit 4) without', async () => {
  const ok = await cli.json([
    'syscalls',
    'call',
    'kernel.echo',
    '--input',
    '{"message":"hi"}',
    '--key',
    echoKey,
  ]);
  assert.deepEqual(ok, { message: 'hi', hadSecret: false });
  const piped = await cli.json(['syscalls', 'call', 'kernel.echo', '--input', '-'], {
    stdin: '{"message":"piped"}',
    env: { STRATA_API_KEY: echoKey },
  });
  assert.deepEqual(piped, { message: 'piped', hadSecret: false });
  const denied = await cli.run([
    'syscalls',
    'call',
    'kernel.echo',
    '--input',
    '{"message":"x"}',
    '--key',
    timeKey,
    '--json',
  ]);
  assert.equal(denied.code, 4);
  assert.equal(jsonOf<ErrorDoc>(denied).error.code, 'E_CAPABILITY_DENIED');
  const human = await cli.run([
    'syscalls',
    'call',
    'kernel.echo',
    '--input',
    '{"message":"x"}',
    '--key',
    timeKey,
  ]);
  assert.equal(human.code, 4);
  assert.match(human.stderr, /^error \[E_CAPABILITY_DENIED\]: /);
});

test('syscalls ls lists everything, or only what a key is granted', async () => {
  const all = await cli.json<{ syscalls: { name: string }[] }>(['syscalls', 'ls']);
  assert.ok(all.syscalls.some((s) => s.name === 'kernel.echo'));
  assert.ok(all.syscalls.some((s) => s.name === 'kernel.time'));
  const granted = await cli.json<{ syscalls: { name: string }[] }>(['syscalls', 'ls', '--key', echoKey]);
  assert.deepEqual(
    granted.syscalls.map((s) => s.name),
    ['kernel.echo', 'kernel.whoami'],
  );
});

test('a revoked key can no longer call', async () => {
  const key = await cli.json<{ id: string; key: string }>([
    'keys',
    'create',
    '--tenant',
    'acme',
    '--grant',
    'kernel.echo',
  ]);
  await cli.json(['keys', 'revoke', '--tenant', 'acme', key.id]);
  const refused = await cli.run([
    'syscalls',
    'call',
    'kernel.echo',
    '--input',
    '{"message":"x"}',
    '--key',
    key.key,
    '--json',
  ]);
  assert.equal(refused.code, 4);
  assert.equal(jsonOf<ErrorDoc>(refused).error.code, 'E_UNAUTHENTICATED');
  assert.ok(!refused.stdout.includes(key.key));
});

test('usage errors exit 2; --help exits 0; not-found exits 3', async () => {
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const unknownJson = await runCli(['frobnicate', '--json']);
  assert.equal(unknownJson.code, 2);
  assert.equal(jsonOf<ErrorDoc>(unknownJson).error.code, 'E_BAD_REQUEST');
  const badGrant = await cli.run(['keys', 'create', '--tenant', 'acme', '--grant', 'a.*.b']);
  assert.equal(badGrant.code, 2);
  const help = await runCli(['tokens', 'issue', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--subject <subject>/);
  const missing = await cli.run(['keys', 'ls', '--tenant', 'nope', '--json']);
  assert.equal(missing.code, 3);
  assert.equal(jsonOf<ErrorDoc>(missing).error.code, 'E_NOT_FOUND');
});
