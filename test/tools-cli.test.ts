/**
 * `strata vault …` and `strata tools …` as a user runs them (child processes): a secret piped on
 * stdin is stored and never printed; an OpenAPI file becomes tools whose calls carry it; an MCP
 * server added with `add-mcp -- <command>` is listed and called from later invocations.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempCli } from '../src/cli/testing.ts';
import { startPetStore, type PetStore } from './fixtures/mcp-petstore.ts';

const SECRET = 'ak-Cli-Secret-Key-987654321';
const STDIO = fileURLToPath(new URL('./fixtures/mcp-fixture/stdio.ts', import.meta.url));

void describe('strata tools and strata vault', () => {
  const cli = tempCli();
  let store: PetStore;
  let env: Record<string, string>;
  before(async () => {
    store = await startPetStore({ apiKey: SECRET });
    const tenant = await cli.json<{ id: string }>(['tenants', 'create', 'acme']);
    const { key } = await cli.json<{ key: string }>([
      'keys',
      'create',
      '--tenant',
      tenant.id,
      '--grant',
      '*',
    ]);
    env = { STRATA_API_KEY: key };
  });
  after(async () => {
    cli.dispose();
    await store.close();
  });

  void it('vault put reads the secret from stdin and never prints it; calls carry it', async () => {
    const put = await cli.run(['vault', 'put', 'pet', '--kind', 'api_key', '--json'], {
      stdin: `${SECRET}\n`,
      env,
    });
    assert.equal(put.code, 0, put.stderr);
    assert.ok(!put.stdout.includes(SECRET));
    const file = join(cli.dataDir, 'petstore.json');
    writeFileSync(file, JSON.stringify(store.document));
    const added = await cli.json<{ tools: { name: string }[] }>(
      ['tools', 'add-openapi', 'pets', file, '--connection', 'pet'],
      { env },
    );
    assert.ok(added.tools.some((t) => t.name === 'pets.getPet'));
    const called = await cli.json<{ structuredContent: { status: number; body: { name: string } } }>(
      ['tools', 'call', 'pets.getPet', '--input', '{"petId":1}'],
      { env },
    );
    assert.deepEqual(called.structuredContent, { status: 200, body: { id: 1, name: 'Rex', tag: 'dog' } });
    assert.equal(store.requests.at(-1)?.apiKey, SECRET);
    const listed = await cli.run(['vault', 'ls'], { env });
    assert.match(listed.stdout, /pet\s+api_key/);
    assert.ok(!listed.stdout.includes(SECRET));
  });

  void it('add-mcp registers a stdio server that later invocations list and call', async () => {
    const added = await cli.json<{ health: string; tools: number }>(
      ['tools', 'add-mcp', 'local', '--', process.execPath, STDIO],
      { env },
    );
    assert.equal(added.health, 'ready');
    const called = await cli.json<{ structuredContent: unknown }>(
      ['tools', 'call', 'mcp.local.add', '--input', '{"a":20,"b":22}'],
      { env },
    );
    assert.deepEqual(called.structuredContent, { sum: 42 });
    const bad = await cli.run(['tools', 'call', 'mcp.local.add', '--input', '{"a":"x"}', '--json'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stdout, /E_INVALID_INPUT/);
  });
});
