import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { answerChallenge, verifyPopAnswer } from './pop.ts';
import { InProcessExecutor } from './executor.ts';
import { isPrivateAddress } from '../net-guard.ts';
import { a2aRoutes } from './routes.ts';
import { A2aService } from './service.ts';
import { serveHono, testSigner, type Listening } from './testing.ts';
import { verifyCard } from './verify-card.ts';

type RpcAnswer = {
  id: unknown;
  error?: { code: number; message: string };
  result?: { task?: { id: string } };
};

onEveryStore('A2A bad input', (db) => {
  let store: Store;
  let server: Listening;
  let service: A2aService;
  const rows = async (table: string): Promise<number> =>
    Number((await store.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0);
  const rpc = async (body: string, headers: Record<string, string> = { 'A2A-Version': '1.0' }) => {
    const res = await fetch(`${server.url}/a2a/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as RpcAnswer };
  };
  const call = (method: string, params: unknown, headers?: Record<string, string>) =>
    rpc(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }), headers);
  const message = (text: string) => ({
    message: { messageId: `m-${text}`, role: 'ROLE_USER', parts: [{ text }] },
  });

  before(async () => {
    store = await db().open();
    const signer = await testSigner();
    server = await serveHono(async (url) => {
      service = await A2aService.open({
        store,
        masterKey: randomBytes(32),
        baseUrl: url,
        agents: [
          {
            card: { name: 'echo', description: 'Echoes', skills: [] },
            signer,
            executor: new InProcessExecutor((t) => Promise.resolve({ state: 'completed', text: t.text })),
          },
        ],
        allowPrivate: false,
      });
      return a2aRoutes(service);
    });
  });
  after(async () => {
    await server.close();
    await store.close();
  });

  it('answers JSON-RPC 2.0 errors: invalid JSON -32700, bad envelope -32600, unknown method -32601', async () => {
    const before = await rows('a2a_tasks');
    const parse = await rpc('{"jsonrpc": "2.0", "method": ');
    assert.deepEqual([parse.status, parse.body.error?.code, parse.body.id], [200, -32700, null]);
    const envelope = await rpc(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'SendMessage', params: {} }));
    assert.ok([-32600, -32602].includes(envelope.body.error?.code ?? 0), JSON.stringify(envelope.body));
    const unknown = await call('message/send', message('x'));
    assert.deepEqual([unknown.body.error?.code, unknown.body.id], [-32601, 7]);
    assert.equal(await rows('a2a_tasks'), before);
  });

  it('refuses a request without A2A-Version (that is A2A 0.3) with VersionNotSupported -32009', async () => {
    const before = await rows('a2a_tasks');
    const missing = await call('SendMessage', message('old client'), {});
    assert.equal(missing.body.error?.code, -32009);
    assert.match(missing.body.error?.message ?? '', /0\.3.*Supported versions: 1\.0/);
    const future = await call('SendMessage', message('new client'), { 'A2A-Version': '2.0' });
    assert.equal(future.body.error?.code, -32009);
    assert.equal(await rows('a2a_tasks'), before, 'nothing stored');
  });

  it('unknown task: GetTask and CancelTask -32001; cancel of a finished task -32002', async () => {
    assert.equal((await call('GetTask', { id: 'no-such-task' })).body.error?.code, -32001);
    assert.equal((await call('CancelTask', { id: 'no-such-task' })).body.error?.code, -32001);
    const sent = await call('SendMessage', message('finish'));
    const id = sent.body.result?.task?.id ?? '';
    assert.ok(id);
    const cancel = await call('CancelTask', { id });
    assert.equal(cancel.body.error?.code, -32002);
    const stored = await store.get<{ state: number }>('SELECT state FROM a2a_tasks WHERE id = ?', [id]);
    assert.equal(stored?.state, 3, 'still COMPLETED');
  });

  it('refuses push URLs toward private, loopback and link-local addresses (-32602), storing nothing', async () => {
    const sent = await call('SendMessage', message('push'));
    const taskId = sent.body.result?.task?.id ?? '';
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[::ffff:192.168.1.1]/hook',
      'http://localhost/hook',
      'file:///etc/passwd',
    ]) {
      const answer = await call('CreateTaskPushNotificationConfig', { taskId, url, token: 't' });
      assert.equal(answer.body.error?.code, -32602, url);
    }
    assert.equal(await rows('a2a_push_configs'), 0);
    assert.ok(!isPrivateAddress('93.184.216.34'));
  });

  it('PoP: refuses a bad nonce; an answer for another nonce, agent or key does not verify', async () => {
    const pop = (nonce: unknown) =>
      fetch(`${server.url}/a2a/echo/pop`, { method: 'POST', body: JSON.stringify({ nonce }) });
    assert.equal((await pop('short')).status, 400);
    assert.equal((await pop({ not: 'a string' })).status, 400);
    const signer = await testSigner('real');
    const other = await testSigner('real');
    const now = Date.now();
    const jws = await answerChallenge(signer, { nonce: 'n'.repeat(32), audience: 'https://a/a2a/x', now });
    const check = (o: Partial<Parameters<typeof verifyPopAnswer>[1]>) =>
      verifyPopAnswer(jws, {
        publicJwk: signer.publicJwk,
        kid: 'real',
        nonce: 'n'.repeat(32),
        audience: 'https://a/a2a/x',
        now,
        ...o,
      });
    await check({});
    await assert.rejects(check({ nonce: 'm'.repeat(32) }), withCode('E_A2A_POP_FAILED'));
    await assert.rejects(check({ audience: 'https://a/a2a/y' }), withCode('E_A2A_POP_FAILED'));
    await assert.rejects(check({ publicJwk: other.publicJwk }), withCode('E_A2A_POP_FAILED'));
    await assert.rejects(check({ now: now + 10 * 60_000 }), withCode('E_A2A_POP_FAILED'));
  });

  it('a host answering with the genuine signed card but without its key fails PoP; altered cards fail the signature', async () => {
    const cardJson = await (await fetch(`${server.url}/a2a/echo/.well-known/agent-card.json`)).json();
    const jwks = await (await fetch(`${server.url}/a2a/jwks.json`)).json();
    const impostorKey = await testSigner((jwks as { keys: { kid: string }[] }).keys[0]?.kid);
    const { Hono } = await import('hono');
    const impostor = await serveHono((url) => {
      // Same origin paths as the real server, so jku and PoP endpoint rewritten to the impostor verify.
      const text = JSON.stringify(cardJson).replaceAll(server.url, url);
      const app = new Hono();
      app.get('/a2a/echo/.well-known/agent-card.json', (c) =>
        c.body(text, 200, { 'content-type': 'application/json' }),
      );
      app.get('/a2a/jwks.json', (c) => c.json(jwks));
      app.post('/a2a/echo/pop', async (c) => {
        const { nonce } = await c.req.json<{ nonce: string }>();
        return c.json({
          jws: await answerChallenge(impostorKey, { nonce, audience: `${url}/a2a/echo`, now: Date.now() }),
        });
      });
      return app;
    });
    try {
      // Rewriting the URLs changes the signed bytes: the copy fails its signature check.
      await assert.rejects(
        verifyCard(`${impostor.url}/a2a/echo/.well-known/agent-card.json`),
        withCode('E_A2A_CARD_SIGNATURE'),
      );
    } finally {
      await impostor.close();
    }
    const cardUrl = `${server.url}/a2a/echo/.well-known/agent-card.json`;
    // A hijacked host (DNS, proxy) serves the real card and JWKS byte for byte, but answers the
    // challenge itself: the signature checks out, possession does not.
    const hijacked: typeof fetch = async (input, init) => {
      if (!urlOf(input).endsWith('/pop')) return fetch(input, init);
      const { nonce } = JSON.parse(init?.body as string) as { nonce: string };
      const jws = await answerChallenge(impostorKey, {
        nonce,
        audience: `${server.url}/a2a/echo`,
        now: Date.now(),
      });
      return Response.json({ jws });
    };
    await assert.rejects(
      verifyCard(cardUrl, { fetch: hijacked }),
      (e: unknown) =>
        withCode('E_A2A_POP_FAILED')(e) && (e as { data: { reason: string } }).data.reason === 'signature',
    );
    await assert.rejects(
      verifyCard(cardUrl, { fetch: tampering(server.url) }),
      withCode('E_A2A_CARD_SIGNATURE'),
    );
    assert.equal((await verifyCard(cardUrl)).possession, true);
  });
});

/** A fetch that flips one character of the card's description in transit. */
function tampering(origin: string): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!urlOf(input).startsWith(`${origin}/a2a/echo/.well-known`)) return res;
    const text = (await res.text()).replace('Echoes', 'Echoed');
    return new Response(text, { status: res.status, headers: res.headers });
  };
}

const urlOf = (input: string | URL | Request): string =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
