import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import { defineSyscall } from '../kernel/index.ts';
import { createApp } from './app.ts';
import { Lifecycle } from './lifecycle.ts';
import { codeOf, get, openTestEnv, post, type ServerTestEnv } from './testing.ts';

const probe = defineSyscall({
  name: 'test.idempotency_probe',
  description: 'Returns the idempotency key it was given.',
  input: z.object({}).strict(),
  output: z.object({ key: z.string().nullable() }),
  idempotency: 'unsafe',
  handler: (_input, ctx) => ({ key: ctx.idempotencyKey ?? null }),
});

void describe('server app (sqlite)', () => {
  let env: ServerTestEnv;
  let admin: Awaited<ReturnType<ServerTestEnv['tenant']>>;
  before(async () => {
    env = await openTestEnv();
    env.kernel.register(probe);
    admin = await env.tenant();
  });
  after(() => env.close());

  void it('GET /healthz answers ok with a request id', async () => {
    const res = await get(env.app, '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    assert.match(res.headers.get('x-request-id') ?? '', /^[\w-]{8,}$/);
  });

  void it('keeps a well-formed client request id and replaces a malformed one', async () => {
    const mine = await env.app.request('/healthz', { headers: { 'x-request-id': 'client-id-1' } });
    assert.equal(mine.headers.get('x-request-id'), 'client-id-1');
    const bad = await env.app.request('/healthz', { headers: { 'x-request-id': 'bad id\u00e9' } });
    assert.notEqual(bad.headers.get('x-request-id'), 'bad id\u00e9');
  });

  void it('GET /metrics exposes syscall and HTTP metrics in Prometheus text', async () => {
    assert.equal((await post(env.app, 'kernel.echo', { message: 'm' }, { key: admin.key })).status, 200);
    const res = await get(env.app, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /strata_syscalls_total\{syscall="kernel.echo",outcome="ok"\} \d+/);
    assert.match(
      text,
      /strata_http_requests_total\{method="POST",route="\/v1\/syscalls\/:name",status="200"\}/,
    );
    assert.match(text, /strata_http_request_duration_seconds_bucket/);
  });

  void it('GET /v1/openapi.json is a valid OpenAPI 3.1 document with one path per syscall', async () => {
    const res = await get(env.app, '/v1/openapi.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as OpenAPIV3_1.Document;
    const result = await validate(structuredClone(doc));
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
    assert.equal(doc.openapi, '3.1.0');
    for (const name of env.kernel.registry.names())
      assert.ok(doc.paths?.[`/v1/syscalls/${name}`]?.post, name);
    for (const path of ['/healthz', '/metrics', '/v1/whoami', '/v1/syscalls', '/v1/syscalls/{name}']) {
      assert.ok(doc.paths?.[path]?.get, path);
    }
    const schemas = doc.components?.schemas ?? {};
    const echoInput = schemas['kernel.echo.Input'] as { properties: Record<string, Record<string, unknown>> };
    assert.equal(echoInput.properties['secret']?.['writeOnly'], true);
    assert.ok(schemas['Error']);
    assert.deepEqual(Object.keys(doc.components?.securitySchemes ?? {}).sort(), ['bearer', 'capability']);
  });

  void it('GET /v1/whoami describes the caller and refuses anonymous callers', async () => {
    const res = await get(env.app, '/v1/whoami', admin.key);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      tenantId: admin.tenantId,
      principalId: admin.keyId,
      kind: 'api_key',
      grants: [{ syscall: '*', resource: '*' }],
    });
    const anonymous = await get(env.app, '/v1/whoami');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="strata"');
    assert.equal(codeOf((await anonymous.json()) as Record<string, unknown>), 'E_UNAUTHENTICATED');
  });

  void it('GET /v1/syscalls lists only granted syscalls; GET /v1/syscalls/:name describes one', async () => {
    const narrow = await env.key(admin.tenantId, [{ syscall: 'kernel.echo', resource: '*' }]);
    const list = (await (await get(env.app, '/v1/syscalls', narrow.key)).json()) as {
      syscalls: { name: string }[];
    };
    assert.deepEqual(
      list.syscalls.map((s) => s.name),
      ['kernel.echo'],
    );
    const all = (await (await get(env.app, '/v1/syscalls', admin.key)).json()) as {
      syscalls: { name: string }[];
    };
    assert.deepEqual(
      all.syscalls.map((s) => s.name),
      env.kernel.registry.names(),
    );
    const detail = (await (await get(env.app, '/v1/syscalls/kernel.time', narrow.key)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(detail['name'], 'kernel.time');
    assert.equal(detail['granted'], false);
    assert.equal((detail['inputSchema'] as { type: string }).type, 'object');
    const unknown = await get(env.app, '/v1/syscalls/kernel.nope', narrow.key);
    assert.equal(unknown.status, 404);
    assert.equal(codeOf((await unknown.json()) as Record<string, unknown>), 'E_UNKNOWN_SYSCALL');
  });

  void it('POST runs a syscall with an API key and passes the Idempotency-Key', async () => {
    const echo = await post(env.app, 'kernel.echo', { message: 'hello' }, { key: admin.key });
    assert.equal(echo.status, 200);
    assert.deepEqual(echo.json, { output: { message: 'hello', hadSecret: false } });
    const headers = { 'idempotency-key': 'order-42' };
    const probed = await post(env.app, probe.name, {}, { key: admin.key, headers });
    assert.deepEqual(probed.json, { output: { key: 'order-42' } });
    const empty = await post(env.app, probe.name, undefined, { key: admin.key, body: '' });
    assert.deepEqual(empty.json, { output: { key: null } }, 'an empty body is the empty input');
  });

  void it('answers unknown routes with 404 E_NOT_FOUND and a request id', async () => {
    const res = await get(env.app, '/nowhere');
    assert.equal(res.status, 404);
    assert.equal(codeOf((await res.json()) as Record<string, unknown>), 'E_NOT_FOUND');
    assert.ok(res.headers.get('x-request-id'));
  });

  void it('while draining: health is 503 and API calls get 503 E_SHUTTING_DOWN', async () => {
    const lifecycle = new Lifecycle();
    const app = createApp({ kernel: env.kernel, config: env.runtime.config, lifecycle });
    lifecycle.startDraining();
    const health = await get(app, '/healthz');
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'draining' });
    const call = await post(app, 'kernel.echo', { message: 'late' }, { key: admin.key });
    assert.equal(call.status, 503);
    assert.equal(codeOf(call.json), 'E_SHUTTING_DOWN');
    assert.equal(call.headers.get('retry-after'), '1');
  });
});
