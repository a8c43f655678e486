// Issue 12, item 1: 100 model calls over a conversation growing to ~200k tokens keep the journal
// rows < 5 MB (prompts are blobs, named by hash), and a worker stopped while call 57 is in flight
// is resumed by a new process on the same database without making calls 1–56 again — on SQLite
// and PostgreSQL. The model is the scripted provider behind the real model service; the tool is a
// native tool behind the real tools layer.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { createScriptedProvider, type ModelProvider, type ProviderRequest } from '../src/models/index.ts';
import { defineAgent } from '../src/orchestration/agent/define-agent.ts';
import { agentHarness } from '../src/orchestration/agent/testing.ts';
import { onEveryStore } from '../src/testkit/stores.ts';
import { defineTool } from '../src/tools/index.ts';

const CALLS = 100;
const KILL_AT = 57;
const PAGE_CHARS = 8_000; // ~2,000 tokens a tool result: 100 of them make ~200k tokens

const readPage = defineTool({
  name: 'corpus.read',
  description: 'Reads one page of the corpus.',
  input: z.object({ page: z.number().int() }),
  output: z.object({ page: z.number(), text: z.string() }),
  handler: ({ page }) => ({ page, text: `page ${page} `.padEnd(PAGE_CHARS, 'lorem ipsum ') }),
});

const reader = defineAgent({
  name: 'reader',
  version: 1,
  instructions: 'Read every page, then summarize.',
  model: 'scripted/m',
  tools: ['corpus.read'],
  maxTurns: CALLS,
});

/** The model call a request is: one more than the assistant messages it carries. */
const turnOf = (request: ProviderRequest): number =>
  request.messages.filter((m) => m.role === 'assistant').length + 1;

/** The scripted model, counting the calls it receives; the call `blockAt` hangs until aborted. */
function countingModel(blockAt?: number): ModelProvider & { turns: number[] } {
  const scripted = createScriptedProvider({
    script: (request) => {
      const turn = turnOf(request);
      return turn < CALLS
        ? { toolCalls: [{ id: `read-${turn}`, name: 'corpus__read', arguments: { page: turn } }] }
        : { text: `read ${turn - 1} pages` };
    },
  });
  const turns: number[] = [];
  return {
    name: 'scripted',
    turns,
    stream: (request) => scripted.stream(request),
    generate(request) {
      const turn = turnOf(request);
      turns.push(turn);
      if (turn !== blockAt) return scripted.generate(request);
      return new Promise((_, reject) =>
        request.signal?.addEventListener('abort', () => reject(request.signal?.reason as Error)),
      );
    },
  };
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

onEveryStore('agent loop journal', (db) => {
  it(`${CALLS} calls over ~200k tokens: journal < 5 MB; stopped at call ${KILL_AT}, resumed without re-billing`, async () => {
    const tenant = `agent-${db().dialect}`;
    // First process: runs until call 57 is in flight, then its worker is stopped.
    const first = countingModel(KILL_AT);
    const a = await agentHarness(db(), { provider: first, tools: [readPage], tenant });
    a.engine.register(reader);
    const worker = await a.worker({ leaseMs: 500 });
    const run = await a.engine.start(
      'reader',
      { prompt: 'Summarize the corpus.' },
      { principal: a.principal },
    );
    await until(() => first.turns.length === KILL_AT);
    await worker.stop({ abandon: true });
    await a.close();
    assert.deepEqual(
      first.turns,
      Array.from({ length: KILL_AT }, (_, i) => i + 1),
    );

    // Second process on the same database: resumes by replay once the lease has expired.
    const second = countingModel();
    const b = await agentHarness(db(), { provider: second, tools: [readPage], tenant });
    try {
      b.engine.register(reader);
      await b.worker();
      const done = await b.waitFor(run.id, ['completed', 'failed'], 120_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal((done.output as { text: string }).text, `read ${CALLS - 1} pages`);
      assert.deepEqual(
        second.turns,
        Array.from({ length: CALLS - KILL_AT + 1 }, (_, i) => KILL_AT + i),
        'calls 1–56 are not made again; 57 (never answered) and after are',
      );

      const journal = await b.store.get<{ rows: number; bytes: number }>(
        `SELECT COUNT(*) AS rows, SUM(LENGTH(COALESCE(output, '')) + LENGTH(COALESCE(error, ''))) AS bytes
         FROM orch_journal WHERE run_id = ?`,
        [run.id],
      );
      const blobs = await b.store.get<{ bytes: number }>(
        'SELECT SUM(size) AS bytes FROM orch_agent_blobs WHERE tenant_id = ?',
        [b.principal.tenantId],
      );
      const lastPrompt = CALLS * PAGE_CHARS;
      const journalBytes = Number(journal?.bytes);
      console.log(
        `[agent-loop ${db().dialect}] ${CALLS} model calls, conversation ~${Math.round(lastPrompt / 4 / 1000)}k tokens: ` +
          `journal ${Number(journal?.rows)} rows, ${(journalBytes / 1e6).toFixed(2)} MB (output+error); ` +
          `blobs ${(Number(blobs?.bytes) / 1e6).toFixed(2)} MB; ` +
          `every prompt inline would be ~${((lastPrompt * CALLS) / 2 / 1e6).toFixed(0)} MB`,
      );
      assert.ok(journalBytes < 5_000_000, `journal is ${journalBytes} bytes`);
      assert.ok(Number(blobs?.bytes) < 2 * lastPrompt, 'each message is stored once');
    } finally {
      await b.close();
    }
  });
});
