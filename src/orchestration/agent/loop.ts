/**
 * @module orchestration/agent/loop
 * The durable agent loop: model call, tool calls, tool results appended, again, until the model
 * answers without tool calls, `stopWhen` says stop, or `maxTurns` is reached (`E_AGENT_MAX_TURNS`).
 *
 * Each turn takes three kinds of journal positions:
 * - `agent.prompt` (a transaction): the messages appended since the last prompt are stored as
 *   content-addressed blobs with a prompt node pointing at the previous one; the journal keeps the
 *   node's hash only, so what each model call was sent stays inspectable (`loadPrompt`) without
 *   storing the conversation again at every turn;
 * - `model.generate` (a syscall), once per model tried (fallbacks after a provider gives up);
 * - `tools.call` (a syscall) per tool call.
 * On replay the conversation is rebuilt from the journaled answers and tool results, so nothing is
 * sent to a model or a tool twice, and a run resumed after a crash re-bills nothing.
 */
import { isStrataError, StrataError } from '../../kernel/index.ts';
import type { ModelMessage, ToolCall, Usage } from '../../models/index.ts';
import type { WorkflowContext } from '../context.ts';
import { putPrompt } from './blobs.ts';
import { describeTools, runToolCall, type AgentTools } from './tool-calls.ts';
import type { AgentLoopSpec, AgentOutput, AgentTurn } from './types.ts';

interface Generated {
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  costMicros: number;
  target: string;
}

/** Errors after which the next fallback model is tried (the same set the model service falls through on). */
const FALLS_THROUGH = new Set([
  'E_RATE_LIMITED',
  'E_MODEL_UNAVAILABLE',
  'E_MODEL_BAD_RESPONSE',
  'E_MODEL_KEY_MISSING',
  'E_UNKNOWN_MODEL',
]);

export async function runAgentLoop(
  ctx: WorkflowContext,
  spec: AgentLoopSpec,
  input: { prompt: string },
): Promise<AgentOutput> {
  const tools = spec.tools?.length
    ? await describeTools(ctx, spec.tools)
    : { specs: [], byModelName: new Map() };
  const messages: ModelMessage[] = [
    { role: 'system', content: spec.instructions },
    { role: 'user', content: input.prompt },
  ];
  // The agent's own budget, held beside the tenant's, project's and tree's (see spec.budget).
  if (spec.budget !== undefined)
    await ctx.syscall('billing.budgets.set', {
      scope: 'run',
      subject: ctx.runId,
      period: 'lifetime',
      limit: spec.budget,
    });
  const usage = { inputTokens: 0, outputTokens: 0, costMicros: 0 };
  let prompt: string | null = null;
  let stored = 0;
  for (let turn = 1; turn <= spec.maxTurns; turn++) {
    prompt = await recordPrompt(ctx, prompt, messages.slice(stored));
    stored = messages.length;
    const answer = await generate(ctx, spec, messages, tools);
    usage.inputTokens += answer.usage.inputTokens;
    usage.outputTokens += answer.usage.outputTokens;
    usage.costMicros += answer.costMicros;
    messages.push({
      role: 'assistant',
      content: answer.text,
      ...(answer.toolCalls.length ? { toolCalls: answer.toolCalls } : {}),
    });
    const done = (stoppedBy: AgentOutput['stoppedBy']): AgentOutput => ({
      text: answer.text,
      turns: turn,
      stoppedBy,
      usage,
    });
    if (answer.toolCalls.length === 0) return done('answer');
    const state: AgentTurn = { turn, text: answer.text, toolCalls: answer.toolCalls, messages };
    if (spec.stopWhen?.(state)) return done('stop_when');
    for (const call of answer.toolCalls)
      messages.push({ role: 'tool', toolCallId: call.id, content: await runToolCall(ctx, tools, call) });
  }
  throw new StrataError(
    'E_AGENT_MAX_TURNS',
    `agent ${spec.name} made ${spec.maxTurns} model calls without a final answer; raise maxTurns or give it a stopWhen`,
    { maxTurns: spec.maxTurns },
  );
}

/** Stores the new messages and the prompt node in one journaled transaction; returns the node's hash. */
async function recordPrompt(
  ctx: WorkflowContext,
  parent: string | null,
  added: ModelMessage[],
): Promise<string> {
  const recorded = await ctx.transaction('agent.prompt', async (tx) => {
    const run = await tx.get<{ tenant_id: string }>('SELECT tenant_id FROM orch_runs WHERE id = ?', [
      ctx.runId,
    ]);
    const tenantId = run?.tenant_id ?? '';
    return { prompt: await putPrompt(tx, tenantId, { parent, added }, Date.now()) };
  });
  return recorded.prompt;
}

/** One model call, through each fallback model in turn; every attempt is its own journaled syscall. */
async function generate(
  ctx: WorkflowContext,
  spec: AgentLoopSpec,
  messages: ModelMessage[],
  tools: AgentTools,
): Promise<Generated> {
  const models = [spec.model, ...(spec.fallbackModels ?? [])];
  for (const [i, model] of models.entries()) {
    try {
      return await ctx.syscall<Generated>('model.generate', {
        model,
        messages,
        ...(tools.specs.length ? { tools: tools.specs } : {}),
        ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
        ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
      });
    } catch (error) {
      if (i === models.length - 1 || !isStrataError(error) || !FALLS_THROUGH.has(error.code)) throw error;
    }
  }
  throw new StrataError('E_INTERNAL', 'unreachable: no model to call');
}
