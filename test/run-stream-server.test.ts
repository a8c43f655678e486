// Token streaming through the real server (`strata up`'s runtime and HTTP stack, SQLite): the
// runtime gives model.generate the side channel, `/v1/runs/:id/stream` is mounted behind the API's
// authentication, a bad Last-Event-ID is a 400 with E_INVALID_INPUT.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sseMessages } from '../src/cli/sse.ts';
import { configSchema } from '../src/kernel/index.ts';
import type { ModelProvider, StreamDelta } from '../src/models/index.ts';
import { defineAgent, type WorkflowDefinition } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime } from '../src/server/runtime.ts';
import { startServer } from '../src/server/server.ts';

const pieces = ['Streamed ', 'through ', 'the server.'];
const provider: ModelProvider = {
  name: 'scripted',
  generate: () => Promise.reject(new Error('this model only streams')),
  async *stream(request): AsyncIterable<StreamDelta> {
    for (const text of pieces) {
      await Promise.resolve();
      yield { type: 'text', text };
    }
    const usage = { inputTokens: 5, outputTokens: 3, cachedInputTokens: 0 };
    yield { type: 'finish', finishReason: 'stop', usage, model: request.model };
  },
};

const writer = defineAgent({
  name: 'writer',
  version: 1,
  instructions: 'Write.',
  model: 'scripted/m',
  maxTurns: 1,
});

test('the server streams a run’s tokens and ends with the journaled text', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-stream-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = configSchema.parse({
    dataDir,
    models: { providers: [{ name: 'scripted', driver: 'scripted', models: ['m'] }] },
  });
  const runtime = await openRuntime({
    config,
    workflows: [writer as unknown as WorkflowDefinition],
    worker: true,
    modelProviders: { scripted: provider },
  });
  const { adminKey } = await bootstrapDefaultTenant(runtime);
  const handle = await startServer({ runtime, host: '127.0.0.1', port: 0 });
  t.after(() => handle.close());
  const auth = { authorization: `Bearer ${adminKey ?? ''}` };
  const started = await fetch(`${handle.url}/v1/syscalls/runs.start`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ workflow: 'writer', input: { prompt: 'Go.' } }),
  });
  assert.equal(started.status, 200);
  const { output: run } = (await started.json()) as { output: { id: string } };

  const unauthenticated = await fetch(`${handle.url}/v1/runs/${run.id}/stream`);
  assert.equal(unauthenticated.status, 401);
  await unauthenticated.body?.cancel();
  const bad = await fetch(`${handle.url}/v1/runs/${run.id}/stream`, {
    headers: { ...auth, 'last-event-id': 'x' },
  });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'E_INVALID_INPUT');

  const response = await fetch(`${handle.url}/v1/runs/${run.id}/stream`, { headers: auth });
  assert.equal(response.headers.get('content-type'), 'text/event-stream');
  assert.ok(response.body);
  const events: { event: string; data: { text?: string | null } }[] = [];
  for await (const m of sseMessages(response.body))
    events.push({ event: m.event, data: JSON.parse(m.data) as { text?: string | null } });
  assert.deepEqual(
    events.map((e) => e.event),
    ['delta', 'delta', 'delta', 'done'],
  );
  assert.equal(events.map((e) => (e.event === 'delta' ? e.data.text : '')).join(''), pieces.join(''));
  const done = events.at(-1);
  assert.equal(done?.data.text, pieces.join(''));
  const journal = await runtime.kernel.store.get<{ output: string }>(
    `SELECT output FROM orch_journal WHERE run_id = ? AND name = 'model.generate'`,
    [run.id],
  );
  assert.equal((JSON.parse(journal?.output ?? '{}') as { text: string }).text, done?.data.text);
});
