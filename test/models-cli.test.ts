// `strata models ls`, `models capacity` and `models try` as a user runs them: a config file naming a provider
// that speaks the OpenAI wire format on 127.0.0.1, its key from an environment variable, and the
// exit codes of an unknown model and a missing key.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jsonOf, tempCli } from '../src/cli/testing.ts';
import { EXIT } from '../src/kernel/index.ts';
import type { ModelResult } from '../src/models/index.ts';
import { startOpenAIWireServer, type WireServer } from './fixtures/model-wire-servers.ts';

let server: WireServer;
let cli: ReturnType<typeof tempCli>;
let configFile: string;
let key: string;

before(async () => {
  server = await startOpenAIWireServer();
  cli = tempCli();
  configFile = join(cli.dataDir, 'strata.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      models: {
        providers: [
          {
            name: 'local',
            driver: 'openai-compatible',
            baseUrl: `${server.url}/v1`,
            apiKeyEnv: 'LOCAL_LLM_KEY',
            models: ['tiny'],
          },
        ],
        prices: { 'local/tiny': { input: 1, output: 2 } },
      },
    }),
  );
  const tenant = await cli.json<{ id: string }>(['tenants', 'create', 'acme']);
  const created = await cli.json<{ key: string }>([
    'keys',
    'create',
    '--tenant',
    tenant.id,
    '--grant',
    'model.generate@models/local/*',
  ]);
  key = created.key;
});
after(async () => {
  cli.dispose();
  await server.close();
});

test('models ls lists targets and prices; models try answers with usage and cost', async () => {
  const listed = await cli.json<{ targets: string[] }>(['--config', configFile, 'models', 'ls']);
  assert.deepEqual(listed.targets, ['local/tiny']);
  server.queue({ kind: 'text', text: 'hello from tiny' });
  const env = { LOCAL_LLM_KEY: 'sk-local-1', STRATA_API_KEY: key };
  const out = await cli.json<ModelResult>(
    ['--config', configFile, 'models', 'try', 'hi', '--model', 'local/tiny'],
    {
      env,
    },
  );
  assert.equal(out.text, 'hello from tiny');
  assert.equal(out.costMicros, out.usage.inputTokens * 1 + out.usage.outputTokens * 2);
  assert.equal(server.requests.at(-1)?.headers['authorization'], 'Bearer sk-local-1');
  const text = await cli.run(
    ['--config', configFile, 'models', 'try', 'hi', '--provider', 'local', '--model', 'tiny'],
    {
      env,
    },
  );
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /local\/tiny · stop · \d+ in \/ \d+ out · \$0\.0000\d+/);
});

test('an unknown model and a missing key exit with their codes', async () => {
  const env = { STRATA_API_KEY: key };
  const unknown = await cli.run(
    ['--config', configFile, 'models', 'try', 'hi', '--model', 'local/huge', '--json'],
    { env },
  );
  assert.equal(unknown.code, EXIT.notFound);
  assert.equal(jsonOf<{ error: { code: string } }>(unknown).error.code, 'E_UNKNOWN_MODEL');
  const missing = await cli.run(
    ['--config', configFile, 'models', 'try', 'hi', '--model', 'local/tiny', '--json'],
    { env },
  );
  assert.equal(missing.code, EXIT.usage);
  const error = jsonOf<{ error: { code: string; message: string } }>(missing).error;
  assert.equal(error.code, 'E_MODEL_KEY_MISSING');
  assert.match(error.message, /LOCAL_LLM_KEY/);
});

test('models capacity shows each configured bucket with its limits, as a table and as JSON', async () => {
  const out = await cli.json<{
    buckets: { provider: string; model: string; concurrency: { limit: number } }[];
  }>(['--config', configFile, 'models', 'capacity']);
  assert.deepEqual(
    out.buckets.map((b) => [`${b.provider}/${b.model}`, b.concurrency.limit]),
    [['local/tiny', 16]],
  );
  const text = await cli.run(['--config', configFile, 'models', 'capacity']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /local\/tiny\s+none\s+0 \/ -\s+0 \/ -\s+0 \/ 16\s+0\s+-/);
});
