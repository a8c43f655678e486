import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { A2A_CARD_MEDIA_TYPE, MCP_CARD_MEDIA_TYPE, type AiCatalog } from './catalog.ts';
import { a2aCall } from './client.ts';
import { InProcessExecutor } from './executor.ts';
import { a2aRoutes } from './routes.ts';
import { A2aService } from './service.ts';
import { a2aSyscalls } from './syscalls.ts';
import { sdkServer, serveHono, testSigner, type Listening } from './testing.ts';

onEveryStore('a2a.call and discovery', (db) => {
  let store: Store;
  let kernel: Kernel;
  let strata: Listening;
  let sdk: Listening;
  let caller: Principal;
  let stranger: Principal;

  const principal = async (grants: { syscall: string; resource: string }[]): Promise<Principal> => {
    const tenant = await kernel.principals.createTenant(`a2a-${randomBytes(3).toString('hex')}`);
    const { key } = await kernel.principals.createApiKey({ tenantId: tenant.id, name: 'agent', grants });
    return kernel.authenticate({ apiKey: key });
  };

  before(async () => {
    store = await db().open();
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    for (const s of a2aSyscalls({ allowPrivate: true })) kernel.register(s);
    sdk = await sdkServer();
    const signer = await testSigner();
    strata = await serveHono(async (url) => {
      const service = await A2aService.open({
        store,
        masterKey: randomBytes(32),
        baseUrl: url,
        agents: ['alpha', 'beta'].map((name) => ({
          card: {
            name,
            description: `agent ${name}`,
            skills: [{ id: 'echo', name: 'Echo', description: 'echoes' }],
          },
          signer,
          executor: new InProcessExecutor((t) =>
            Promise.resolve({ state: 'completed', text: `${name}: ${t.text}` }),
          ),
        })),
        mcpServerCardUrl: `${url}/mcp/server-card`,
        allowPrivate: true,
      });
      return a2aRoutes(service);
    });
    caller = await principal([{ syscall: 'a2a.call', resource: 'a2a/remote/*' }]);
    stranger = await principal([{ syscall: 'kernel.*', resource: '*' }]);
  });
  after(async () => {
    await sdk.close();
    await strata.close();
    await kernel.close(1000);
  });

  it('a Strata agent calls an A2A server built with the SDK, verifying its SDK-signed card', async () => {
    const answer = await kernel.call<{ state: string; text: string; verified: { kid: string } }>(
      'a2a.call',
      { url: sdk.url, text: 'hello there' },
      { principal: caller },
    );
    assert.equal(answer.state, 'TASK_STATE_COMPLETED');
    assert.equal(answer.text, 'sdk says: hello there');
    assert.equal(answer.verified.kid, 'sdk-key');
    await kernel.audit.flush();
    const entries = await kernel.audit.list(caller.tenantId);
    const entry = entries.find((e) => e.action === 'a2a.call');
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.resource, `a2a/remote/${new URL(sdk.url).host}`);
  });

  it('is capability-checked: no grant → E_CAPABILITY_DENIED, audited as denied', async () => {
    await assert.rejects(
      kernel.call('a2a.call', { url: sdk.url, text: 'hi' }, { principal: stranger }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await kernel.audit.flush();
    const entries = await kernel.audit.list(stranger.tenantId);
    assert.equal(entries.find((e) => e.action === 'a2a.call')?.outcome, 'denied');
  });

  it('requires possession when asked: Strata agents prove it, the SDK server (no PoP) is refused', async () => {
    const strong = await a2aCall({
      url: `${strata.url}/a2a/beta`,
      text: 'x',
      trust: 'possession',
      allowPrivate: true,
    });
    assert.deepEqual([strong.text, strong.verified?.possession], ['beta: x', true]);
    await assert.rejects(
      a2aCall({ url: sdk.url, text: 'x', trust: 'possession', allowPrivate: true }),
      withCode('E_A2A_POP_FAILED'),
    );
  });

  it('refuses private addresses outside test mode, before any request', async () => {
    await assert.rejects(a2aCall({ url: sdk.url, text: 'x' }), withCode('E_A2A_PUSH_URL_REFUSED'));
    await assert.rejects(
      a2aCall({ url: 'http://169.254.169.254/latest', text: 'x', allowPrivate: false }),
      withCode('E_A2A_PUSH_URL_REFUSED'),
    );
  });

  it('lists every exposed card and the MCP server card in /.well-known/ai-catalog.json', async () => {
    const res = await fetch(`${strata.url}/.well-known/ai-catalog.json`);
    assert.equal(res.headers.get('content-type'), 'application/ai-catalog+json');
    const catalog = (await res.json()) as AiCatalog;
    assert.deepEqual(
      catalog.entries.map((e) => [e.type, e.url]),
      [
        [A2A_CARD_MEDIA_TYPE, `${strata.url}/a2a/alpha/.well-known/agent-card.json`],
        [A2A_CARD_MEDIA_TYPE, `${strata.url}/a2a/beta/.well-known/agent-card.json`],
        [MCP_CARD_MEDIA_TYPE, `${strata.url}/mcp/server-card`],
      ],
    );
    for (const entry of catalog.entries.slice(0, 2)) {
      const card = (await (await fetch(entry.url)).json()) as { name: string; signatures: unknown[] };
      assert.equal(card.signatures.length, 1);
      assert.equal(`${strata.url}/a2a/${card.name}/.well-known/agent-card.json`, entry.url);
    }
  });
});
