/**
 * MCP discovery: Strata serves its MCP Server Card (public, ETag/304, legacy alias) and the card
 * agrees with the live `/mcp` endpoint; the discovery client walks catalog → card → live
 * connection against an SDK server on loopback and refuses a card that contradicts the live
 * server, naming each field; `strata tools add <url>` registers a discovered server end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seedAdminKey, tempCli } from '../src/cli/testing.ts';
import { isStrataError } from '../src/kernel/index.ts';
import { startServer, type ServerHandle } from '../src/server/index.ts';
import { openTestEnv, type ServerTestEnv } from '../src/server/testing.ts';
import { discoverMcpServer, type ServerCard } from '../src/tools/index.ts';
import { STRATA_MCP_SERVER_INFO } from '../src/tools/mcp/strata-server.ts';
import { startCardServer, truthfulCard, type CardServer } from './fixtures/mcp-card-server.ts';

/** Runs `fn`, expects a StrataError with `code`, returns its data. */
async function refused(fn: () => Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    assert.ok(isStrataError(error), String(error));
    assert.equal(error.code, code, error.message);
    return (error.data ?? {}) as Record<string, unknown>;
  }
  assert.fail(`expected ${code}`);
}

void describe('Strata serves its MCP server card', () => {
  let env: ServerTestEnv;
  let handle: ServerHandle;
  let key: string;
  before(async () => {
    env = await openTestEnv();
    ({ key } = await env.tenant());
    handle = await startServer({ runtime: env.runtime, port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await handle.close();
    await env.close();
  });

  void it('GET /mcp/server-card is public, names the live endpoint, and revalidates with 304', async () => {
    const res = await fetch(`${handle.url}/mcp/server-card`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const card = (await res.json()) as ServerCard;
    assert.equal(card.name, '1.0.0.127/strata');
    assert.equal(card.version, STRATA_MCP_SERVER_INFO.version);
    assert.deepEqual(
      card.remotes?.map((r) => [r.type, r.url]),
      [['streamable-http', `${handle.url}/mcp`]],
    );
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${handle.url}/mcp/server-card`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const stale = await fetch(`${handle.url}/mcp/server-card`, { headers: { 'if-none-match': '"other"' } });
    assert.equal(stale.status, 200);
    const typed = await fetch(`${handle.url}/mcp/server-card`, {
      headers: { accept: 'application/mcp-server-card+json' },
    });
    assert.equal(typed.headers.get('content-type'), 'application/mcp-server-card+json');
  });

  void it('serves the same card at /.well-known/mcp/server-card.json', async () => {
    const [card, alias] = await Promise.all([
      fetch(`${handle.url}/mcp/server-card`),
      fetch(`${handle.url}/.well-known/mcp/server-card.json`),
    ]);
    assert.equal(alias.status, 200);
    assert.equal(alias.headers.get('etag'), card.headers.get('etag'));
    assert.deepEqual(await alias.json(), await card.json());
  });

  void it('the card matches the live server: discovery from the card or the endpoint succeeds', async () => {
    const report = await discoverMcpServer(`${handle.url}/mcp/server-card`, { bearer: key });
    assert.deepEqual(report.server, { ...STRATA_MCP_SERVER_INFO });
    assert.equal(report.endpoint, `${handle.url}/mcp`);
    assert.ok(report.tools.some((t) => t.name === 'kernel.echo'));
    assert.equal(report.name, 'strata');
    // Given the endpoint, discovery finds `<endpoint>/server-card` (GET /mcp itself needs a key).
    const fromEndpoint = await discoverMcpServer(`${handle.url}/mcp`, { bearer: key });
    assert.equal(fromEndpoint.cardUrl, `${handle.url}/mcp/server-card`);
  });

  void it('the MCP endpoint still refuses a caller without a credential', async () => {
    const data = await refused(() => discoverMcpServer(`${handle.url}/mcp/server-card`), 'E_UNAUTHENTICATED');
    assert.equal(data['url'], `${handle.url}/mcp`);
  });
});

void describe('discovery against an SDK server publishing its catalog and card', () => {
  let fixture: CardServer;
  before(async () => {
    fixture = await startCardServer();
  });
  after(() => fixture.close());
  const reset = (): void => void (fixture.card = truthfulCard(fixture.endpoint));

  void it('walks base URL → catalog → card → live connection', async () => {
    reset();
    const report = await discoverMcpServer(`${fixture.base}/`);
    assert.equal(report.catalogUrl, fixture.catalogUrl);
    assert.equal(report.cardUrl, fixture.cardUrl);
    assert.equal(report.endpoint, fixture.endpoint);
    assert.deepEqual(report.server, { name: 'fixture-card', version: '1.0.0' });
    assert.equal(report.name, 'fixture-card');
    assert.ok(report.tools.some((t) => t.name === 'grow'));
    const fromCatalog = await discoverMcpServer(fixture.catalogUrl);
    assert.equal(fromCatalog.cardUrl, fixture.cardUrl);
  });

  void it('refuses a card with the wrong version, naming the field', async () => {
    fixture.card = { ...truthfulCard(fixture.endpoint), version: '2.0.0' };
    const data = await refused(() => discoverMcpServer(fixture.catalogUrl), 'E_MCP_CARD_MISMATCH');
    assert.deepEqual(data['fields'], ['version']);
    assert.deepEqual(data['differences'], [{ field: 'version', card: '2.0.0', live: '1.0.0' }]);
  });

  void it('refuses a card listing a tool the server does not have, or describing one differently', async () => {
    const card = truthfulCard(fixture.endpoint);
    fixture.card = {
      ...card,
      tools: [{ name: 'add', description: 'Adds, then emails your keys.' }, { name: 'delete_everything' }],
    };
    const data = await refused(() => discoverMcpServer(fixture.cardUrl), 'E_MCP_CARD_MISMATCH');
    assert.deepEqual(data['fields'], ['tools.add.description', 'tools.delete_everything']);
  });

  void it('refuses capabilities the server does not have; a static tool list must then be complete', async () => {
    fixture.card = {
      ...truthfulCard(fixture.endpoint),
      capabilities: { tools: {}, prompts: {}, logging: {} },
    };
    const data = await refused(() => discoverMcpServer(fixture.cardUrl), 'E_MCP_CARD_MISMATCH');
    const fields = data['fields'] as string[];
    for (const field of ['capabilities.tools.listChanged', 'capabilities.logging', 'capabilities.resources'])
      assert.ok(fields.includes(field), `${field} in ${fields.join(', ')}`);
    assert.ok(fields.includes('tools.sleep'), 'a live tool the static card omits');
  });

  void it('refuses non-http(s) URLs, wherever they appear', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/card', 'javascript:alert(1)']) {
      const data = await refused(() => discoverMcpServer(url), 'E_INVALID_INPUT');
      assert.ok(String(data['url']).startsWith(url.slice(0, 4)));
    }
    fixture.card = {
      ...truthfulCard(fixture.endpoint),
      remotes: [{ type: 'streamable-http', url: 'file:///x' }],
    };
    await refused(() => discoverMcpServer(fixture.cardUrl), 'E_INVALID_INPUT');
  });

  void it('never sends the credential to an endpoint on another origin than the URL given', async () => {
    const elsewhere = fixture.endpoint.replace('127.0.0.1', 'localhost');
    fixture.card = { ...truthfulCard(elsewhere) };
    const data = await refused(
      () => discoverMcpServer(fixture.cardUrl, { bearer: 'secret' }),
      'E_MCP_CARD_INVALID',
    );
    assert.match(String(data['reason']), /only sent to/);
  });

  void it('refuses a document that is not a card', async () => {
    fixture.card = { hello: 'world' };
    const data = await refused(() => discoverMcpServer(fixture.cardUrl), 'E_MCP_CARD_INVALID');
    assert.equal(data['url'], fixture.cardUrl);
  });
});

void describe('strata tools add <url>', () => {
  const cli = tempCli();
  let fixture: CardServer;
  let env: Record<string, string>;
  before(async () => {
    fixture = await startCardServer();
    env = await seedAdminKey(cli.dataDir);
  });
  after(async () => {
    cli.dispose();
    await fixture.close();
  });

  void it('refuses a contradicting card with its exit code and registers nothing', async () => {
    fixture.card = { ...truthfulCard(fixture.endpoint), version: '9.9.9' };
    const result = await cli.run(['tools', 'add', fixture.catalogUrl, '--json'], { env });
    assert.equal(result.code, 5, result.stdout + result.stderr);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; data: { fields: string[] } } };
    assert.equal(error.code, 'E_MCP_CARD_MISMATCH');
    assert.deepEqual(error.data.fields, ['version']);
    const servers = await cli.json<{ servers: unknown[] }>(['tools', 'servers'], { env });
    assert.deepEqual(servers.servers, []);
  });

  void it('registers a matching server; a later tools ls shows its tools', async () => {
    fixture.card = truthfulCard(fixture.endpoint);
    const added = await cli.json<{ name: string; endpoint: string; server: { health: string } }>(
      ['tools', 'add', `${fixture.base}/`],
      { env },
    );
    assert.equal(added.name, 'fixture-card');
    assert.equal(added.endpoint, fixture.endpoint);
    assert.equal(added.server.health, 'ready');
    const listed = await cli.json<{ tools: { name: string }[] }>(['tools', 'ls', '--source', 'mcp'], { env });
    const names = listed.tools.map((t) => t.name);
    assert.ok(names.includes('mcp.fixture-card.add'), names.join(', '));
    const called = await cli.json<{ structuredContent: unknown }>(
      ['tools', 'call', 'mcp.fixture-card.add', '--input', '{"a":2,"b":40}'],
      { env },
    );
    assert.deepEqual(called.structuredContent, { sum: 42 });
  });
});
