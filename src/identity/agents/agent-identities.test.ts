import assert from 'node:assert/strict';
import { randomBytes, verify } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { after, before, it } from 'node:test';
import { Kernel, ManualClock, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { AgentIdentities } from './agent-identities.ts';
import { base58btcDecode, base58btcEncode, didKeyFromRaw, publicKeyFromDidKey } from './did-key.ts';
import { verifyIdentityDocument } from './document.ts';
import { agentIdentityRoutes } from './routes.ts';
import { agentSyscalls } from './syscalls.ts';

it('encodes did:key as in the did:key method test vectors', () => {
  const x = 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik';
  const did = 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp';
  assert.equal(didKeyFromRaw(Buffer.from(x, 'base64url')), did);
  assert.equal(publicKeyFromDidKey(did).export({ format: 'jwk' }).x, x);
  for (const bytes of [[], [0], [0, 0, 1], [255, 254, 0, 3]]) {
    assert.deepEqual([...(base58btcDecode(base58btcEncode(Uint8Array.from(bytes))) ?? [])], bytes);
  }
  for (const bad of ['did:key:z0OIl', 'did:web:example.com', `did:key:z${'1'.repeat(100)}`, 'did:key:zQ3s']) {
    assert.throws(() => publicKeyFromDidKey(bad), withCode('E_DELEGATION_MALFORMED'));
  }
});

onEveryStore('agent identities', (db) => {
  let kernel: Kernel;
  let identities: AgentIdentities;
  let admin: Principal;
  let tenantId: string;
  const masterKey = randomBytes(32);
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  let server: ServerType | undefined;

  before(async () => {
    const store = await db().open();
    kernel = await Kernel.open({ store, masterKey, clock });
    identities = await AgentIdentities.open({ store, masterKey, clock });
    for (const d of agentSyscalls(identities)) kernel.register(d);
    tenantId = (await kernel.principals.createTenant('acme')).id;
    const { key } = await kernel.principals.createApiKey({
      tenantId,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    server?.close();
    await kernel.close(1000);
  });
  const call = <T>(name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal: admin });
  type Out = { agentId: string; did: string; kid: string; keys: { kid: string; status: string }[] };

  it('creates an identity whose private key is sealed, never returned, and signs verifiably', async () => {
    const agent = await kernel.principals.createAgent({ tenantId, name: 'mailer' });
    const links = {
      mailboxes: ['mailer@acme.test'],
      a2aCardUrl: 'https://acme.test/a2a/mailer/agent-card.json',
    };
    const out = await call<Out>('identity.agents.create', { agent: 'mailer', links });
    assert.equal(out.agentId, agent.id);
    assert.match(out.did, /^did:key:z6Mk/);
    const rows = JSON.stringify(await kernel.store.all('SELECT * FROM identity_agent_keys'));
    assert.ok(rows.includes('v1.') && !rows.includes('"d":'), 'the private JWK is stored sealed only');
    assert.ok(!JSON.stringify(out).includes('"d"'));
    await assert.rejects(call('identity.agents.create', { agent: 'mailer' }), withCode('E_CONFLICT'));
    await assert.rejects(call('identity.agents.create', { agent: 'ghost' }), withCode('E_NOT_FOUND'));
    await assert.rejects(
      call('identity.agents.create', {
        agent: agent.id,
        links: { mailboxes: ['A <a@x.test>\r\nBcc: y@evil.test'] },
      }),
      withCode('E_INVALID_INPUT'),
    );
    const signed = await identities.sign(tenantId, 'mailer', Buffer.from('hello'));
    assert.ok(verify(null, Buffer.from('hello'), publicKeyFromDidKey(signed.did), signed.signature));
  });

  it('rotates keys, keeping retired ones in the JWKS and old signatures verifiable', async () => {
    await kernel.principals.createAgent({ tenantId, name: 'rotor' });
    const first = await call<Out>('identity.agents.create', { agent: 'rotor' });
    const old = await identities.sign(tenantId, 'rotor', Buffer.from('before'));
    clock.advance(1000);
    const second = await call<Out>('identity.agents.rotate', { agent: 'rotor' });
    assert.notEqual(second.did, first.did);
    assert.deepEqual(
      second.keys.map((k) => [k.kid, k.status]),
      [
        [first.kid, 'retired'],
        [second.kid, 'active'],
      ],
    );
    const jwks = await call<{ keys: { kid: string; status: string }[] }>('identity.jwks', {});
    assert.equal(jwks.keys.find((k) => k.kid === first.kid)?.status, 'retired');
    assert.ok(verify(null, Buffer.from('before'), publicKeyFromDidKey(old.did), old.signature));
    assert.equal((await identities.sign(tenantId, 'rotor', Buffer.from('x'))).kid, second.kid);
    const doc = await call<{ jws: string }>('identity.agents.document', { agent: 'rotor' });
    const verified = await verifyIdentityDocument(doc.jws);
    assert.deepEqual([verified.id, verified.previous.map((p) => p.did)], [second.did, [first.did]]);
    const [h, p, s] = doc.jws.split('.');
    const tampered = Buffer.from(p ?? '', 'base64url')
      .toString()
      .replace(second.did, first.did);
    await assert.rejects(
      verifyIdentityDocument(`${h}.${Buffer.from(tampered).toString('base64url')}.${s}`),
      withCode('E_DELEGATION_SIGNATURE'),
    );
  });

  it('refuses to use a key sealed under another master key', async () => {
    const other = await AgentIdentities.open({ store: kernel.store, masterKey: randomBytes(32), clock });
    await assert.rejects(other.sign(tenantId, 'mailer', Buffer.from('x')), withCode('E_INTERNAL'));
  });

  it('serves the JWKS and signed documents over HTTP', async () => {
    const app = new Hono().route('/', agentIdentityRoutes({ identities, tenantId, clock }));
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(info.port));
    });
    const base = `http://127.0.0.1:${port}`;
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.deepEqual(jwks, await identities.jwks(tenantId));
    const res = await fetch(`${base}/agents/mailer/identity.jws`);
    assert.equal(res.headers.get('content-type'), 'application/jose');
    const doc = await verifyIdentityDocument(await res.text());
    assert.deepEqual(doc.links.mailboxes, ['mailer@acme.test']);
    assert.equal((await fetch(`${base}/agents/nobody/identity`)).status, 404);
  });
});
