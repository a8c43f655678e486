/**
 * did:web: DIDs to URLs as the method defines them (port as %3A, path segments), documents served
 * by the identity routes and resolved over HTTP on loopback (test mode), a signature checked with
 * the key the document lists (a retired key still listed after rotation), and the resolver's
 * refusals: private addresses outside test mode, redirects, a document naming another DID,
 * oversized bodies, DIDs that are not did:web or smuggle a path.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { compactVerify, importJWK } from 'jose';
import { after, before, describe, it } from 'node:test';
import { Kernel, ManualClock, type Store } from '../../kernel/index.ts';
import { createSqliteStore } from '../../kernel/store/drivers/sqlite/index.ts';
import { withCode } from '../../testkit/stores.ts';
import { AgentIdentities } from './agent-identities.ts';
import { didWebOf, didWebUrl, resolveDidWeb, verificationKey } from './did-web.ts';
import { agentIdentityRoutes } from './routes.ts';

void it('maps did:web DIDs to their document URLs and refuses malformed ones', () => {
  assert.equal(didWebOf('https://example.com'), 'did:web:example.com');
  assert.equal(didWebOf('http://127.0.0.1:8080', 'agents', 'scout'), 'did:web:127.0.0.1%3A8080:agents:scout');
  assert.equal(didWebUrl('did:web:example.com').href, 'https://example.com/.well-known/did.json');
  assert.equal(
    didWebUrl('did:web:example.com:agents:scout').href,
    'https://example.com/agents/scout/did.json',
  );
  assert.equal(
    didWebUrl('did:web:localhost%3A3000', { insecure: true }).href,
    'http://localhost:3000/.well-known/did.json',
  );
  for (const bad of [
    'did:key:z6Mk',
    'did:web:',
    'did:web:evil.com:..:x',
    'did:web:evil.com:a%2Fb',
    'did:web:user@evil.com',
  ]) {
    assert.throws(() => didWebUrl(bad), withCode('E_DID_RESOLUTION'), bad);
  }
});

void describe('did:web documents served and resolved', () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  let store: Store;
  let identities: AgentIdentities;
  let server: ServerType;
  let origin: string;
  let hostile: Server;
  let hostileOrigin: string;
  let tenantId: string;
  let agentId: string;

  before(async () => {
    store = await createSqliteStore({ path: ':memory:' });
    const masterKey = randomBytes(32);
    const kernel = await Kernel.open({ store, masterKey, clock });
    tenantId = (await kernel.principals.createTenant('didweb')).id;
    await kernel.principals.createAgent({ tenantId, name: 'scout' });
    identities = await AgentIdentities.open({ store, masterKey, clock });
    agentId = (await identities.create(tenantId, 'scout')).agentId;
    await new Promise<void>((resolve) => {
      server = serve(
        { fetch: agentIdentityRoutes({ identities, tenantId, clock }).fetch, port: 0, hostname: '127.0.0.1' },
        () => resolve(),
      );
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Answers every path by the test's rules: a redirect, a document for another DID, a huge body.
    hostile = createServer((req, res) => {
      if (req.url?.startsWith('/redirect/'))
        res.writeHead(302, { location: `${origin}/.well-known/did.json` }).end();
      else if (req.url?.startsWith('/huge/')) res.writeHead(200).end(`{"id":"${'x'.repeat(70_000)}"}`);
      else
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"did:web:someone-else.test"}');
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    hostileOrigin = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    hostile?.close();
    await store?.close();
  });

  void it('resolves the agent’s DID, whose listed key verifies the agent’s signature, also after rotation', async () => {
    const did = didWebOf(origin, 'agents', agentId);
    const signer = await identities.signer(tenantId, 'scout');
    const head = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: signer.kid })).toString('base64url');
    const body = Buffer.from('hello').toString('base64url');
    const jws = `${head}.${body}.${Buffer.from(await signer.sign(Buffer.from(`${head}.${body}`))).toString('base64url')}`;

    const document = await resolveDidWeb(did, { allowPrivate: true });
    assert.equal(document.id, did);
    assert.deepEqual(document.alsoKnownAs, [signer.did]);
    assert.deepEqual(document.authentication, [`${did}#${signer.kid}`]);
    const key = await importJWK(verificationKey(document, `#${signer.kid}`), 'EdDSA');
    assert.equal(Buffer.from((await compactVerify(jws, key)).payload).toString(), 'hello');

    await identities.rotateKey(tenantId, 'scout');
    const rotated = await resolveDidWeb(did, { allowPrivate: true });
    assert.notDeepEqual(rotated.authentication, document.authentication, 'the new key authenticates');
    const old = await importJWK(verificationKey(rotated, `#${signer.kid}`), 'EdDSA');
    await compactVerify(jws, old); // the retired key is still listed, so old signatures verify
  });

  void it('serves the node’s document listing its agents', async () => {
    const node = await resolveDidWeb(didWebOf(origin), { allowPrivate: true });
    assert.ok(node.service?.some((s) => s.serviceEndpoint === `${origin}/agents/${agentId}/did.json`));
    const res = await fetch(`${origin}/agents/nobody/did.json`);
    assert.equal(res.status, 404);
  });

  void it('refuses private addresses outside test mode, redirects, another DID’s document and oversized bodies', async () => {
    const refused = async (did: string, allowPrivate: boolean, reason: RegExp) => {
      const error: unknown = await resolveDidWeb(did, { allowPrivate }).catch((e: unknown) => e);
      assert.ok(withCode('E_DID_RESOLUTION')(error), `${did}: ${String(error)}`);
      assert.match((error as Error).message, reason);
    };
    await refused(didWebOf(origin, 'agents', agentId), false, /private address|loopback/);
    await refused(didWebOf(hostileOrigin, 'redirect'), true, /redirects are refused/);
    await refused(didWebOf(hostileOrigin, 'other'), true, /id is not the DID/);
    await refused(didWebOf(hostileOrigin, 'huge'), true, /exceeds/);
  });
});
