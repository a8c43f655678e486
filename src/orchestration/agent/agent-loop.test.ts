// The durable agent loop on both engines: tool calls journaled and fed back, the prompt of each
// model call recoverable from its blob reference, stopWhen, maxTurns, fallbacks, and bad specs.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { StrataError, type Store } from '../../kernel/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../../models/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { defineTool } from '../../tools/index.ts';
import type { JournalRow } from '../run-row.ts';
import { loadPrompt } from './blobs.ts';
import { defineAgent } from './define-agent.ts';
import { agentHarness } from './testing.ts';
import type { AgentLoopSpec } from './types.ts';

let added = 0;
const add = defineTool({
  name: 'math.add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  handler: ({ a, b }) => {
    added++;
    return { sum: a + b };
  },
});

const askAdd = (id: string): ScriptedReply => ({
  toolCalls: [{ id, name: 'math__add', arguments: { a: 2, b: 3 } }],
});

const agent = (name: string, extra: Partial<AgentLoopSpec> = {}) =>
  defineAgent({
    name,
    version: 1,
    instructions: 'You add numbers.',
    model: 'scripted/m',
    tools: ['math.add'],
    maxTurns: 5,
    ...extra,
  });

const journalOf = async (h: { store: Store }, runId: string): Promise<JournalRow[]> =>
  h.store.all<JournalRow>('SELECT * FROM orch_journal WHERE run_id = ? ORDER BY seq', [runId]);

onEveryStore('agent loop', (db) => {
  it('calls a tool, feeds its result back and journals each call; each prompt is recoverable from its hash', async () => {
    const provider = createScriptedProvider({ script: [askAdd('c1'), { text: 'The sum is 5.' }] });
    const h = await agentHarness(db(), { provider, tools: [add] });
    try {
      h.engine.register(agent('adder'));
      await h.worker();
      const before = added;
      const run = await h.engine.start('adder', { prompt: 'What is 2 + 3?' }, { principal: h.principal });
      const done = await h.waitFor(run.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.deepEqual(done.output, {
        text: 'The sum is 5.',
        turns: 2,
        stoppedBy: 'answer',
        usage: done.output && (done.output as { usage: unknown }).usage,
      });
      assert.equal(added - before, 1);
      const journal = await journalOf(h, run.id);
      assert.deepEqual(
        journal.map((r) => r.name),
        ['tools.describe', 'agent.prompt', 'model.generate', 'tools.call', 'agent.prompt', 'model.generate'],
      );
      const second = provider.calls[1];
      assert.deepEqual(second?.tools?.[0]?.name, 'math__add');
      assert.deepEqual(second?.messages.at(-1), { role: 'tool', toolCallId: 'c1', content: '{"sum":5}' });
      // The journal names the prompt by hash; the blobs give back exactly what the model was sent.
      const { prompt } = JSON.parse(journal[4]?.output ?? '{}') as { prompt: string };
      assert.match(prompt, /^[0-9a-f]{64}$/);
      assert.deepEqual(await loadPrompt(h.store, h.principal.tenantId, prompt), second?.messages);
      await assert.rejects(loadPrompt(h.store, 'another-tenant', prompt), { code: 'E_NOT_FOUND' });
    } finally {
      await h.close();
    }
  });

  it('fails with E_AGENT_MAX_TURNS after maxTurns model calls, and stops early when stopWhen says so', async () => {
    const provider = createScriptedProvider({ script: (_req, n) => askAdd(`c${n}`) });
    const h = await agentHarness(db(), { provider, tools: [add] });
    try {
      h.engine.register(agent('looper', { maxTurns: 3 }));
      h.engine.register(agent('stopper', { stopWhen: (t) => t.turn === 2 }));
      await h.worker();
      const looped = await h.engine.start('looper', { prompt: 'add forever' }, { principal: h.principal });
      const failed = await h.waitFor(looped.id, ['completed', 'failed']);
      assert.equal(failed.error?.code, 'E_AGENT_MAX_TURNS');
      assert.equal(provider.calls.length, 3);
      const before = added;
      const stopped = await h.engine.start('stopper', { prompt: 'add twice' }, { principal: h.principal });
      const done = await h.waitFor(stopped.id, ['completed', 'failed']);
      assert.equal((done.output as { stoppedBy: string }).stoppedBy, 'stop_when');
      assert.equal((done.output as { turns: number }).turns, 2);
      assert.equal(added - before, 1, 'the tool calls of the stopping turn are not run');
    } finally {
      await h.close();
    }
  });

  it('falls back to the next model when one is unavailable, and tells the model about an unknown tool', async () => {
    const provider = createScriptedProvider({
      script: (req, n) => {
        if (req.model === 'm') return { error: new StrataError('E_MODEL_UNAVAILABLE', 'm is down') };
        return n <= 2
          ? { toolCalls: [{ id: 'x', name: 'no_such_tool', arguments: {} }] }
          : { text: `answered by ${req.model}` };
      },
    });
    const h = await agentHarness(db(), { provider, tools: [add], models: ['m', 'n'] });
    try {
      h.engine.register(agent('fallback', { fallbackModels: ['scripted/n'] }));
      await h.worker();
      const run = await h.engine.start('fallback', { prompt: 'hi' }, { principal: h.principal });
      const done = await h.waitFor(run.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal((done.output as { text: string }).text, 'answered by n');
      const toolMessage = provider.calls.at(-1)?.messages.at(-1);
      assert.equal(toolMessage?.role, 'tool');
      assert.match(toolMessage?.content ?? '', /E_NOT_FOUND/);
      const names = (await journalOf(h, run.id)).map((r) => `${r.name}:${r.status}`);
      assert.deepEqual(names.slice(1, 4), ['agent.prompt:ok', 'model.generate:error', 'model.generate:ok']);
    } finally {
      await h.close();
    }
  });
});

it('refuses bad agent specs at definition time', () => {
  assert.throws(() => agent('zero', { maxTurns: 0 }), /maxTurns/);
  assert.throws(() => agent('blank', { instructions: '  ' }), /instructions/);
  assert.throws(() => agent('twins', { tools: ['a.b', 'a__b'] }), /model-facing name/);
  for (const budget of ['-1', 'five', '1e3', { usd: 5 }]) {
    const withBudget = { budget } as unknown as Partial<AgentLoopSpec>;
    assert.throws(() => agent('budgeted', withBudget), /budget must be a decimal amount/);
  }
  assert.throws(() => agent('Bad Name'), /lower-case/);
});
