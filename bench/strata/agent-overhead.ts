// Agent-loop overhead per turn, for bench/fleet.ts: the durable agent loop (defineAgent, a run on
// a worker: each prompt stored as blobs, each model and tool call a journaled syscall with its
// capability check and audit entry) against the same loop written plainly in process over the same
// model service and tools layer, with no durability. The model is the scripted provider (in
// process, answers at once), so the difference is the runtime's own cost per turn.
import { z } from 'zod';
import {
  createScriptedProvider,
  ModelService,
  parseModelsConfig,
  type ModelMessage,
  type ScriptedReply,
} from '../../src/models/index.ts';
import { defineAgent } from '../../src/orchestration/index.ts';
import { modelToolName } from '../../src/orchestration/agent/index.ts';
import { agentHarness } from '../../src/orchestration/agent/testing.ts';
import { freshDatabase } from '../../src/testkit/stores.ts';
import { defineTool } from '../../src/tools/index.ts';
import { percentile } from '../_util.ts';

const add = defineTool({
  name: 'math.add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  output: z.object({ sum: z.number() }),
  handler: ({ a, b }) => ({ sum: a + b }),
});

/** Asks for the tool until `turns - 1` results are in the conversation, then answers. */
function script(turns: number) {
  return (request: { messages: readonly ModelMessage[] }, n: number): ScriptedReply => {
    const results = request.messages.filter((m) => m.role === 'tool').length;
    if (results >= turns - 1) return { text: 'done' };
    return { toolCalls: [{ id: `c${n}`, name: modelToolName('math.add'), arguments: { a: n, b: 1 } }] };
  };
}

export interface AgentOverhead {
  readonly turns: number;
  readonly runs: number;
  readonly durableMsPerTurn: number;
  readonly plainMsPerTurn: number;
  readonly overheadMsPerTurn: number;
}

export async function agentLoopOverhead(runs: number, turns: number): Promise<AgentOverhead> {
  const db = await freshDatabase('postgres');
  const provider = createScriptedProvider({ script: script(turns) });
  const h = await agentHarness(db, { provider, tools: [add] });
  try {
    h.engine.register(
      defineAgent({
        name: 'bench.adder',
        version: 1,
        instructions: 'You add numbers.',
        model: 'scripted/m',
        tools: ['math.add'],
        maxTurns: turns + 1,
      }),
    );
    await h.worker({ concurrency: 1, pollMs: 20 });
    const durable: number[] = [];
    for (let r = 0; r < runs; r++) {
      const run = await h.engine.start('bench.adder', { prompt: 'add' }, { principal: h.principal });
      const done = await h.waitFor(run.id, ['completed', 'failed'], 60_000);
      if (done.status !== 'completed')
        throw new Error(`agent run ${done.status}: ${JSON.stringify(done.error)}`);
      // From the first journaled position to the last: the loop's own time, not the claim's.
      const span = await h.store.get<{ first: number; last: number }>(
        'SELECT MIN(started_at) AS first, MAX(finished_at) AS last FROM orch_journal WHERE run_id = ?',
        [run.id],
      );
      durable.push((Number(span?.last) - Number(span?.first)) / turns);
    }
    const plain: number[] = [];
    const models = new ModelService({
      config: parseModelsConfig({
        providers: [{ name: 'scripted', driver: 'scripted', models: ['m'], retry: { attempts: 1 } }],
        maxPromptTokens: 1_000_000,
      }),
      providers: { scripted: createScriptedProvider({ script: script(turns) }) },
    });
    const call = {
      tenantId: h.principal.tenantId,
      principalId: h.principal.id,
      signal: new AbortController().signal,
    };
    const tools = [
      { name: modelToolName('math.add'), description: add.description, parameters: { type: 'object' } },
    ];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const messages: ModelMessage[] = [
        { role: 'system', content: 'You add numbers.' },
        { role: 'user', content: 'add' },
      ];
      for (let turn = 1; turn <= turns; turn++) {
        const answer = await models.generate({ model: 'scripted/m', messages, tools }, call);
        if (answer.toolCalls.length === 0) break;
        messages.push({ role: 'assistant', content: answer.text, toolCalls: [...answer.toolCalls] });
        for (const toolCall of answer.toolCalls) {
          const { result } = await h.tools.call(
            'math.add',
            toolCall.arguments as Record<string, unknown>,
            call,
          );
          messages.push({
            role: 'tool',
            toolCallId: toolCall.id,
            content: JSON.stringify(result.structuredContent),
          });
        }
      }
      plain.push((performance.now() - t0) / turns);
    }
    const durableMs = percentile(
      [...durable].sort((a, b) => a - b),
      50,
    );
    const plainMs = percentile(
      [...plain].sort((a, b) => a - b),
      50,
    );
    return {
      turns,
      runs,
      durableMsPerTurn: durableMs,
      plainMsPerTurn: plainMs,
      overheadMsPerTurn: durableMs - plainMs,
    };
  } finally {
    await h.close();
    await db.drop();
  }
}
