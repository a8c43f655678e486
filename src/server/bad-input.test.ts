/**
 * Malformed requests, proved on both store engines: each is refused with a stable 4xx code before
 * anything is written — row counts of every table are compared before and after — and requests
 * without credentials are refused before their body is even looked at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, openTestEnv, post, type CallOptions, type Dialect, type ServerTestEnv } from './testing.ts';

const LIMIT = 1024;

/** A body streamed in chunks with no Content-Length, as `Transfer-Encoding: chunked` arrives. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 300) controller.enqueue(bytes.slice(i, i + 300));
      controller.close();
    },
  });
}

interface BadCase {
  readonly title: string;
  readonly name?: string;
  readonly input?: unknown;
  readonly options: CallOptions;
  readonly status: number;
  readonly code: RegExp;
}

function badCases(key: string): BadCase[] {
  const big = JSON.stringify({ message: 'x'.repeat(LIMIT * 2) });
  const json = { 'content-type': 'application/json' };
  return [
    {
      title: 'no credentials, malformed JSON',
      options: { body: '{' },
      status: 401,
      code: /^E_UNAUTHENTICATED$/,
    },
    {
      title: 'bad key, invalid input',
      input: { message: 5 },
      options: { key: 'sk_x' },
      status: 401,
      code: /^E_UNAUTHENTICATED$/,
    },
    {
      title: 'forged token',
      input: { message: 'x' },
      options: { key: 'e30.e30.c2ln' },
      status: 401,
      code: /^E_(TOKEN_INVALID|UNAUTHENTICATED)$/,
    },
    { title: 'malformed JSON', options: { key, body: '{"message": ' }, status: 400, code: /^E_BAD_REQUEST$/ },
    { title: 'array body', input: [1, 2], options: { key }, status: 400, code: /^E_INVALID_INPUT$/ },
    { title: 'string body', input: 'hello', options: { key }, status: 400, code: /^E_INVALID_INPUT$/ },
    { title: 'null body', input: null, options: { key }, status: 400, code: /^E_INVALID_INPUT$/ },
    {
      title: 'unknown syscall',
      name: 'kernel.nope',
      input: {},
      options: { key },
      status: 404,
      code: /^E_UNKNOWN_SYSCALL$/,
    },
    {
      title: 'wrong field type',
      input: { message: 5 },
      options: { key },
      status: 400,
      code: /^E_INVALID_INPUT$/,
    },
    {
      title: 'unknown field',
      input: { message: 'x', extra: 1 },
      options: { key },
      status: 400,
      code: /^E_INVALID_INPUT$/,
    },
    { title: 'missing field', input: {}, options: { key }, status: 400, code: /^E_INVALID_INPUT$/ },
    {
      title: 'oversized, Content-Length',
      options: { key, body: big, headers: { ...json, 'content-length': String(big.length) } },
      status: 413,
      code: /^E_PAYLOAD_TOO_LARGE$/,
    },
    {
      title: 'oversized, chunked',
      options: { key, body: chunked(big) },
      status: 413,
      code: /^E_PAYLOAD_TOO_LARGE$/,
    },
    {
      title: 'text/plain body',
      input: { message: 'x' },
      options: { key, headers: { 'content-type': 'text/plain' } },
      status: 400,
      code: /^E_BAD_REQUEST$/,
    },
    {
      title: 'bad Idempotency-Key',
      input: { message: 'x' },
      options: { key, headers: { 'idempotency-key': 'a b' } },
      status: 400,
      code: /^E_BAD_REQUEST$/,
    },
  ];
}

for (const dialect of ['sqlite', 'postgres'] as const satisfies Dialect[]) {
  void describe(`bad input on ${dialect}`, () => {
    let env: ServerTestEnv;
    before(async () => {
      env = await openTestEnv({ dialect, server: { bodyLimitBytes: LIMIT } });
    });
    after(() => env.close());

    void it('every malformed request gets its code and leaves every table unchanged', async () => {
      const { key } = await env.tenant();
      assert.ok(Object.keys(await env.tableCounts()).length >= 8, 'counts cover every kernel table');
      for (const bad of badCases(key)) {
        const before = await env.tableCounts();
        const res = await post(env.app, bad.name ?? 'kernel.echo', bad.input, bad.options);
        assert.equal(res.status, bad.status, `${bad.title}: ${res.text}`);
        assert.match(String(codeOf(res.json)), bad.code, bad.title);
        assert.ok(res.headers.get('x-request-id'), bad.title);
        assert.deepEqual(await env.tableCounts(), before, `${bad.title} changed the store`);
      }
      const invalid = await post(env.app, 'kernel.echo', { message: 5 }, { key });
      const issues = (invalid.json['error'] as { data: { issues: { path: string }[] } }).data.issues;
      assert.deepEqual(
        issues.map((i) => i.path),
        ['message'],
      );
    });

    void it('the body limit is configurable: just under it passes, just over is refused', async () => {
      const { key } = await env.tenant();
      const envelope = JSON.stringify({ message: '' }).length;
      const fits = await post(env.app, 'kernel.echo', { message: 'y'.repeat(LIMIT - envelope) }, { key });
      assert.equal(fits.status, 200);
      const over = await post(env.app, 'kernel.echo', { message: 'y'.repeat(LIMIT - envelope + 1) }, { key });
      assert.equal(over.status, 413);
      assert.deepEqual((over.json['error'] as { data: unknown }).data, { limitBytes: LIMIT });
    });
  });
}
