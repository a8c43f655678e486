// GET /v1/events in process, with short timings: an idle stream sends `: ping` comments, and a
// cancelled body (the client went away) unsubscribes from the bus. The HTTP behaviour on both
// engines (resume, reset, isolation, errors) is in test/events-stream.test.ts.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createApp } from './app.ts';
import { eventStreamRoutes } from './events-stream.ts';
import { openTestEnv, type ServerTestEnv } from './testing.ts';

let env: ServerTestEnv;
before(async () => {
  env = await openTestEnv();
});
after(() => env.close());

it('sends ping comments while idle and unsubscribes when the body is cancelled', async () => {
  const { kernel } = env;
  const app = createApp({
    kernel,
    config: env.runtime.config,
    apiRoutes: [eventStreamRoutes({ kernel, heartbeatMs: 50, pollMs: 20 })],
  });
  const { key } = await env.tenant([{ syscall: 'kernel.events.read', resource: '*' }]);
  const handlers = kernel.events.handlerCount;
  const res = await app.request('/v1/events', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.equal(kernel.events.handlerCount, handlers + 1);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = AbortSignal.timeout(5_000);
  const nextChunk = (): Promise<string> =>
    Promise.race([
      reader.read().then((r) => decoder.decode(r.value)),
      new Promise<never>((_, reject) =>
        deadline.addEventListener('abort', () => reject(new Error(`no pings within 5 s: ${text}`))),
      ),
    ]);
  while ((text.match(/^: ping$/gm) ?? []).length < 2) text += await nextChunk();
  assert.match(text, /^event: ready\nid: \d+\ndata: \{"seq":\d+\}\n\n/);
  await reader.cancel();
  for (let i = 0; kernel.events.handlerCount !== handlers; i++) {
    assert.ok(i < 200, 'the handler was not removed');
    await new Promise((r) => setTimeout(r, 10));
  }
});
