/**
 * Secrets stay out of everything the server writes or returns: a value in a field marked `secret()`
 * must not appear in the pino output (kernel and HTTP), in the audit table, or in any error body,
 * including when a handler builds an error message from it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineSyscall, secret } from '../kernel/index.ts';
import { codeOf, openTestEnv, post, type ServerTestEnv } from './testing.ts';

const SECRET = 'hunter2-Very-Secret-Value';

/** A careless handler: its error message quotes the secret input. */
const leaky = defineSyscall({
  name: 'test.leaky',
  description: 'Throws an error whose message contains its secret input.',
  input: z.object({ user: z.string(), password: secret(z.string()) }).strict(),
  output: z.object({}),
  idempotency: 'pure',
  retry: { attempts: 1 },
  handler: (input) => {
    throw new Error(`login failed for ${input.user} with password ${input.password}`);
  },
});

void describe('secrets never leak through the HTTP surface', () => {
  let env: ServerTestEnv;
  let key: string;
  let tenantId: string;
  const bodies: string[] = [];
  before(async () => {
    env = await openTestEnv();
    env.kernel.register(leaky);
    ({ key, tenantId } = await env.tenant());
  });
  after(() => env.close());

  const send = async (name: string, input: unknown, options: Parameters<typeof post>[3] = {}) => {
    const res = await post(env.app, name, input, { key, ...options });
    bodies.push(res.text);
    return res;
  };

  void it('a successful call with a secret does not echo it', async () => {
    const res = await send('kernel.echo', { message: 'hi', secret: SECRET });
    assert.deepEqual(res.json, { output: { message: 'hi', hadSecret: true } });
  });

  void it('refused calls carrying a secret do not echo it', async () => {
    assert.equal((await send('kernel.echo', { message: 5, secret: SECRET })).status, 400);
    assert.equal((await send('kernel.echo', { message: 'x', secret: SECRET, extra: SECRET })).status, 400);
    assert.equal((await send('kernel.echo', { message: 'x', secret: SECRET.repeat(100) })).status, 400);
    assert.equal((await send('kernel.echo', undefined, { body: `{"secret": "${SECRET}"` })).status, 400);
    const { key: narrow } = await env.key(tenantId, [{ syscall: 'kernel.time', resource: '*' }]);
    assert.equal((await send('kernel.echo', { message: 'x', secret: SECRET }, { key: narrow })).status, 403);
  });

  void it('a handler error quoting the secret becomes a generic 500 that names the request id', async () => {
    const res = await send(leaky.name, { user: 'ada', password: SECRET });
    assert.equal(res.status, 500);
    assert.equal(codeOf(res.json), 'E_INTERNAL');
    const requestId = res.headers.get('x-request-id') ?? '';
    const error = res.json['error'] as { message: string; data?: unknown };
    assert.match(error.message, new RegExp(requestId));
    assert.equal(error.data, undefined);
    assert.doesNotMatch(res.text, /login failed|stack|\.ts:/, 'no cause, message or stack of the failure');
    const logged = env
      .logText()
      .split('\n')
      .filter((line) => line.includes(requestId) && line.includes('request failed'));
    assert.equal(logged.length, 1, 'the failure is logged once with its request id');
    assert.match(logged[0] ?? '', /login failed for ada/, 'the log keeps the scrubbed message for operators');
  });

  void it('the secret is in no response body, no log line and no audit row', async () => {
    await env.kernel.audit.flush();
    assert.ok(bodies.length >= 7);
    for (const body of bodies) assert.ok(!body.includes(SECRET), body);
    const logs = env.logText();
    assert.ok(logs.length > 0, 'logs were captured');
    assert.ok(!logs.includes(SECRET), 'secret in logs');
    assert.ok(!logs.includes(key), 'API key in logs');
    const rows = await env.kernel.store.all('SELECT * FROM kernel_audit');
    assert.ok(rows.length >= 3);
    assert.ok(!JSON.stringify(rows).includes(SECRET), 'secret in the audit table');
  });
});
