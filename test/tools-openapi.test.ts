/**
 * OpenAPI connectors and the vault against a real local HTTP API with its own OAuth2 token
 * endpoint: the document becomes tools; calls carry the vault's credential; a 401 triggers one
 * refresh and one retry; inputs are validated before the network; bad documents and bad output
 * are clear errors. Then the security sweep: no secret in any log line, audit entry, span
 * attribute, error or tool output, and none in clear at rest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isStrataError } from '../src/kernel/index.ts';
import { loadOpenApi } from '../src/tools/index.ts';
import { openToolsEnv, type ToolsTestEnv } from '../src/tools/testing.ts';
import { CLIENT_ID, startPetStore, type PetStore } from './fixtures/mcp-petstore.ts';

type Result = {
  content: { text?: string }[];
  structuredContent?: { status: number; body: unknown };
  isError?: boolean;
};
const API_KEY = 'ak-Very-Secret-Key-0123456789';

void describe('OpenAPI connectors with vault credentials', () => {
  let env: ToolsTestEnv;
  let store: PetStore;
  const errors: unknown[] = [];
  const outputs: unknown[] = [];
  const call = async (tool: string, args: unknown): Promise<Result> => {
    try {
      const out = await env.call<Result>('tools.call', { tool, arguments: args });
      outputs.push(out);
      return out;
    } catch (error) {
      errors.push(error);
      throw error;
    }
  };
  const codeOf = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(isStrataError(error), String(error));
      return error.code;
    }
    return assert.fail('expected an error');
  };

  before(async () => {
    env = await openToolsEnv();
    store = await startPetStore({ apiKey: API_KEY });
  });
  after(async () => {
    await env.close();
    await store.close();
  });

  void it('turns each operation into a tool with parameters and body in its input schema', async () => {
    const out = await env.call<{ tools: { name: string; inputSchema: Record<string, unknown> }[] }>(
      'tools.openapi.add',
      {
        name: 'pets',
        document: store.document,
        connection: 'petstore',
      },
    );
    assert.deepEqual(out.tools.map((t) => t.name).sort(), [
      'pets.broken',
      'pets.createPet',
      'pets.echoAuth',
      'pets.getPet',
      'pets.listPets',
    ]);
    const create = out.tools.find((t) => t.name === 'pets.createPet');
    assert.deepEqual((create?.inputSchema as { required: string[] }).required, ['body']);
    const body = (create?.inputSchema as { properties: { body: { properties: Record<string, unknown> } } })
      .properties.body;
    assert.ok(body.properties['name'], 'the $ref was dereferenced');
  });

  void it('connects an OAuth2 client and carries its token on calls', async () => {
    const connected = await env.call<{ kind: string; meta: Record<string, unknown> }>('tools.vault.connect', {
      name: 'petstore',
      tokenUrl: `${store.url}/oauth/token`,
      clientId: CLIENT_ID,
      clientSecret: store.clientSecret,
    });
    assert.equal(connected.kind, 'oauth2');
    assert.equal(typeof connected.meta['expiresAt'], 'number');
    assert.deepEqual(
      store.tokenRequests.map((t) => t.grant),
      ['client_credentials'],
    );
    const listed = await call('pets.listPets', { limit: 1 });
    assert.deepEqual(listed.structuredContent, { status: 200, body: [{ id: 1, name: 'Rex', tag: 'dog' }] });
    assert.equal(store.requests.at(-1)?.authorization, `Bearer ${store.issued[0]}`);
    assert.equal(store.requests.at(-1)?.path, '/pets?limit=1');
    const created = await call('pets.createPet', { body: { name: 'Kit' } });
    assert.deepEqual(created.structuredContent, { status: 201, body: { id: 3, name: 'Kit' } });
    const missing = await call('pets.getPet', { petId: 99 });
    assert.equal(missing.isError, true);
    assert.equal(missing.structuredContent?.status, 404);
  });

  void it('a 401 triggers one OAuth refresh and one retry', async () => {
    store.revokeTokens();
    const before = store.requests.length;
    const pet = await call('pets.getPet', { petId: 2 });
    assert.deepEqual(pet.structuredContent, { status: 200, body: { id: 2, name: 'Tom', tag: null } });
    assert.equal(store.requests.length - before, 2, 'the rejected request and exactly one retry');
    assert.deepEqual(
      store.tokenRequests.map((t) => t.grant),
      ['client_credentials', 'refresh_token'],
    );
    assert.equal(store.requests.at(-1)?.authorization, `Bearer ${store.issued[1]}`);
    // A credential that cannot be refreshed (a plain bearer token): the 401 is the tool's error
    // result after exactly one request, with no token request and no retry.
    const calls = store.requests.length;
    const tokens = store.tokenRequests.length;
    await env.call('tools.vault.put', { name: 'stale', kind: 'bearer', secret: 'not-a-valid-token' });
    await env.call('tools.openapi.add', { name: 'stalepets', document: store.document, connection: 'stale' });
    const denied = await call('stalepets.listPets', {});
    assert.equal(denied.isError, true);
    assert.equal(denied.structuredContent?.status, 401);
    assert.equal(store.requests.length - calls, 1, 'a bearer connection is not refreshed or retried');
    assert.equal(store.tokenRequests.length, tokens);
  });

  void it('validates inputs against the schema before any network call', async () => {
    const before = store.requests.length;
    assert.equal(await codeOf(call('pets.getPet', { petId: 'two' })), 'E_INVALID_INPUT');
    assert.equal(await codeOf(call('pets.getPet', {})), 'E_INVALID_INPUT');
    assert.equal(await codeOf(call('pets.listPets', { limit: 1000 })), 'E_INVALID_INPUT');
    assert.equal(await codeOf(call('pets.createPet', { body: { tag: 'x' } })), 'E_INVALID_INPUT');
    assert.equal(await codeOf(call('pets.listPets', { unknown: 1 })), 'E_INVALID_INPUT');
    assert.equal(store.requests.length, before);
  });

  void it('an upstream answering with the wrong shape is E_TOOL_ERROR', async () => {
    store.revokeTokens(); // also exercises refresh on this path
    assert.equal(await codeOf(call('pets.broken', {})), 'E_TOOL_ERROR');
  });

  void it('API keys go in the header or query the connection names', async () => {
    await env.call('tools.vault.put', { name: 'hdr', kind: 'api_key', secret: API_KEY });
    await env.call('tools.vault.put', {
      name: 'qry',
      kind: 'api_key',
      secret: API_KEY,
      in: 'query',
      paramName: 'api_key',
    });
    await env.call('tools.openapi.add', { name: 'hpets', document: store.document, connection: 'hdr' });
    await env.call('tools.openapi.add', { name: 'qpets', document: store.document, connection: 'qry' });
    assert.equal((await call('hpets.getPet', { petId: 1 })).structuredContent?.status, 200);
    assert.equal(store.requests.at(-1)?.apiKey, API_KEY);
    assert.equal((await call('qpets.getPet', { petId: 1 })).structuredContent?.status, 200);
    assert.match(store.requests.at(-1)?.path ?? '', /api_key=/);
    // A careless upstream echoing the credential: the agent gets it redacted.
    const echoed = await call('hpets.echoAuth', {});
    assert.ok(!JSON.stringify(echoed).includes(API_KEY));
    assert.match(JSON.stringify(echoed), /REDACTED/);
  });

  void it('loads a document from a URL, resolving a relative server URL against it', async () => {
    const out = await env.call<{ tools: { name: string }[] }>('tools.openapi.add', {
      name: 'urlpets',
      document: `${store.url}/openapi.json`,
      connection: 'hdr',
    });
    assert.ok(out.tools.some((t) => t.name === 'urlpets.getPet'));
    const pet = await call('urlpets.getPet', { petId: 1 });
    assert.deepEqual(pet.structuredContent, { status: 200, body: { id: 1, name: 'Rex', tag: 'dog' } });
  });

  void it('an invalid document is a clear error naming its file and the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-oa-'));
    try {
      const file = join(dir, 'broken.json');
      const doc = structuredClone(store.document) as { paths: Record<string, unknown> };
      doc.paths['/x'] = { post: { responses: 'not an object' } };
      writeFileSync(file, JSON.stringify(doc, null, 2));
      await assert.rejects(loadOpenApi(file), (error: unknown) => {
        assert.ok(isStrataError(error));
        assert.equal(error.code, 'E_INVALID_INPUT');
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, /responses/);
        return true;
      });
      const swagger = { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} };
      await assert.rejects(
        env.call('tools.openapi.add', { name: 'old', document: swagger }),
        (error: unknown) => {
          assert.ok(isStrataError(error) && error.code === 'E_INVALID_INPUT');
          assert.match(error.message, /only OpenAPI 3/);
          return true;
        },
      );
      const dangling = structuredClone(store.document) as {
        components: { schemas: Record<string, unknown> };
      };
      delete dangling.components.schemas['NewPet'];
      await assert.rejects(
        env.call('tools.openapi.add', { name: 'bad', document: dangling }),
        (error: unknown) => {
          assert.ok(isStrataError(error) && error.code === 'E_INVALID_INPUT');
          assert.match(error.message, /\(inline\).*NewPet/);
          return true;
        },
      );
      const { tools } = await env.call<{ tools: { name: string }[] }>('tools.list', { source: 'openapi' });
      assert.ok(
        !tools.some((t) => t.name.startsWith('bad.') || t.name.startsWith('old.')),
        'nothing was registered',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('secrets appear in no log line, audit entry, span attribute, error or output, and not in clear at rest', async () => {
    // A failing refresh whose error body quotes the refresh token it was given.
    await assert.rejects(
      env.call('tools.vault.connect', {
        name: 'broken',
        tokenUrl: `${store.url}/oauth/token`,
        clientId: CLIENT_ID,
        clientSecret: store.clientSecret,
        refreshToken: 'rt-Forged-Refresh-Token-42',
      }),
      (error: unknown) => {
        errors.push(error);
        return isStrataError(error) && error.code === 'E_TOOL_ERROR' && /invalid_grant/.test(error.message);
      },
    );
    outputs.push(await env.call('tools.vault.list', {}));
    await env.kernel.audit.flush();
    const secrets = [
      API_KEY,
      store.clientSecret,
      'not-a-valid-token',
      'rt-Forged-Refresh-Token-42',
      ...store.issued,
    ];
    const audit = JSON.stringify(await env.kernel.store.all('SELECT * FROM kernel_audit'));
    assert.match(audit, /tools\.vault\.connect/);
    const spans = env.spans.getFinishedSpans();
    assert.ok(spans.length > 10);
    const spanText = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status })),
    );
    const errorText = JSON.stringify(
      errors.map((e) => (isStrataError(e) ? { ...e.toJSON(), cause: String(e.cause) } : String(e))),
    );
    assert.ok(errors.length >= 7);
    const atRest = JSON.stringify(await env.kernel.store.all('SELECT * FROM tools_connections'));
    assert.match(atRest, /petstore/, 'the sealed rows are there to scan');
    assert.ok(env.logText().length > 1000, 'the log has lines to scan');
    const places = {
      logs: env.logText(),
      audit,
      spans: spanText,
      errors: errorText,
      outputs: JSON.stringify(outputs),
      atRest,
    };
    for (const [place, text] of Object.entries(places)) {
      for (const value of secrets) assert.ok(!text.includes(value), `a secret appears in ${place}`);
    }
  });
});
