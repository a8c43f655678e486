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
import { configSchema } from '../src/kernel/index.ts';
import { openRuntime } from '../src/server/runtime.ts';
import { startPetStore, type PetStore } from './fixtures/mcp-petstore.ts';

const SECRET = 'ak-Cli-Secret-Key-987654321';
const STDIO = fileURLToPath(new URL('./fixtures/mcp-fixture/stdio.ts', import.meta.url));

void describe('strata tools and strata vault', () => {
  const cli = tempCli();
  let store: PetStore;
  let env: Record<string, string>;
  before(async () => {
    store = await startPetStore({ apiKey: SECRET });
    // The tenant and key are made in process (each CLI spawn costs a second or more).
    const runtime = await openRuntime({ config: configSchema.parse({ dataDir: cli.dataDir }) });
    try {
      const tenant = await runtime.kernel.principals.createTenant('acme');
      const { key } = await runtime.kernel.principals.createApiKey({
        tenantId: tenant.id,
        name: 'cli',
        grants: [{ syscall: '*', resource: '*' }],
      });
      env = { STRATA_API_KEY: key };
    } finally {
      await runtime.close();
    }
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
    assert.match(put.stdout, /"kind":"api_key"/);
  });

  void it('add-mcp registers a stdio server that later invocations list and call', async () => {
    // --json goes before `--`: everything after it is the server's command line.
    const added = await cli.run(['tools', 'add-mcp', 'local', '--json', '--', process.execPath, STDIO], {
      env,
    });
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse(added.stdout) as { health: string }).health, 'ready');
    const called = await cli.json<{ structuredContent: unknown }>(
      ['tools', 'call', 'mcp.local.add', '--input', '{"a":20,"b":22}'],
      { env },
    );
    assert.deepEqual(called.structuredContent, { sum: 42 });
  });
});
