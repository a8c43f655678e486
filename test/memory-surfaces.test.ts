// The memory syscalls reached from the outside: over HTTP through the generic syscall route, and
// with `strata memory …` (the real CLI, spawned), both capability-checked.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempCli } from '../src/cli/testing.ts';
import { openTestEnv, post, type ServerTestEnv } from '../src/server/testing.ts';

void describe('memory over HTTP', () => {
  let env: ServerTestEnv;
  before(async () => {
    env = await openTestEnv();
  });
  after(async () => {
    await env.close();
  });

  it('add and search through /v1/syscalls, with an agent-scoped key confined to its agent', async () => {
    const { tenantId, key } = await env.tenant();
    const { key: agentKey } = await env.key(tenantId, [
      { syscall: 'memory.*', resource: 'memory/agent/a1/*' },
    ]);
    const added = await post(
      env.app,
      'memory.add',
      {
        scope: { agentId: 'a1', userId: 'u1' },
        messages: [{ name: 'Mia', content: 'I live in Quito and I teach chemistry.' }],
      },
      { key: agentKey },
    );
    assert.equal(added.status, 200, added.text);
    const found = await post(
      env.app,
      'memory.search',
      { scope: { agentId: 'a1' }, query: 'where does Mia live' },
      { key: agentKey },
    );
    assert.equal(found.status, 200);
    const hits = (found.json as { output: { hits: { memory: { text: string } }[] } }).output.hits;
    assert.equal(hits[0]?.memory.text, 'Mia lives in Quito and Mia teaches chemistry');
    const denied = await post(
      env.app,
      'memory.search',
      { scope: { agentId: 'a2' }, query: 'Mia' },
      { key: agentKey },
    );
    assert.equal(denied.status, 403);
    const admin = await post(env.app, 'memory.list', { scope: { userId: 'u1' } }, { key });
    assert.equal((admin.json as { output: { memories: unknown[] } }).output.memories.length, 2); // the message and the fact
  });
});

void describe('strata memory', () => {
  const cli = tempCli();
  let key = '';
  before(async () => {
    await cli.json(['tenants', 'create', 'acme']);
    key = (await cli.json<{ key: string }>(['keys', 'create', '--tenant', 'acme', '--grant', 'memory.*']))
      .key;
  });
  after(() => cli.dispose());

  it('adds, searches, exports and re-imports (a malformed file is refused with its line)', async () => {
    const added = await cli.json<{ results: { event: string; text: string }[] }>([
      'memory',
      'add',
      'Standup moved to 9:30 on Mondays',
      '--no-infer',
      '--user',
      'u1',
      '--key',
      key,
    ]);
    assert.deepEqual(
      added.results.map((r) => r.event),
      ['ADD'],
    );
    const found = await cli.json<{ hits: { memory: { text: string } }[] }>([
      'memory',
      'search',
      'when is standup',
      '--user',
      'u1',
      '--key',
      key,
    ]);
    assert.equal(found.hits[0]?.memory.text, 'Standup moved to 9:30 on Mondays');
    const file = join(cli.dataDir, 'u1.jsonl');
    const exported = await cli.run(['memory', 'export', '--user', 'u1', '--key', key, '-o', file]);
    assert.equal(exported.code, 0, exported.stderr);
    const bad = join(cli.dataDir, 'bad.jsonl');
    writeFileSync(bad, '{"format":"strata.memory","version":1}\n');
    const refused = await cli.run(['memory', 'import', bad, '--key', key, '--json']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout, /E_INVALID_INPUT.*line 1/);
    const again = await cli.run(['memory', 'import', file, '--key', key, '--json']);
    assert.match(again.stdout, /E_CONFLICT/, 'the same ids are already there');
  });
});
