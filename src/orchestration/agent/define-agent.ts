/**
 * @module orchestration/agent/define-agent
 * `defineAgent`: an agent is a durable workflow. Given a function it is `defineWorkflow` under
 * another name, as before; given a spec with `instructions` and a `model` it builds a workflow whose
 * run is the durable agent loop (loop.ts).
 *
 * @example
 * const researcher = defineAgent({
 *   name: 'researcher', version: 1, instructions: 'Answer with sources.',
 *   model: 'openai/gpt-4o-mini', fallbackModels: ['anthropic/claude-haiku'], tools: ['web.search'],
 *   maxTurns: 20,
 * });
 * engine.register(researcher);
 * await engine.start('researcher', { prompt: 'Who maintains pg?' }, { principal });
 */
import type { z } from 'zod';
import type { WorkflowContext } from '../context.ts';
import { defineWorkflow, type WorkflowDefinition, type WorkflowOptions } from '../define.ts';
import { runAgentLoop } from './loop.ts';
import { modelToolName } from './tool-calls.ts';
import {
  agentInputSchema,
  agentOutputSchema,
  type AgentInput,
  type AgentLoopSpec,
  type AgentOutput,
} from './types.ts';

/** Builds the workflow that runs the agent loop; bad specs throw a TypeError at definition time. */
export function defineAgentLoop(spec: AgentLoopSpec): WorkflowDefinition<AgentInput, AgentOutput> {
  if (!Number.isInteger(spec.maxTurns) || spec.maxTurns < 1)
    throw new TypeError(`agent ${spec.name}: maxTurns must be an integer ≥ 1`);
  if (spec.budget !== undefined && !/^[0-9]{1,15}(\.[0-9]{1,6})?$/.test(String(spec.budget)))
    throw new TypeError(`agent ${spec.name}: budget must be a decimal amount such as "2.50"`);
  if (!spec.instructions.trim()) throw new TypeError(`agent ${spec.name}: instructions must not be empty`);
  const names = new Set((spec.tools ?? []).map(modelToolName));
  if (names.size !== (spec.tools ?? []).length)
    throw new TypeError(`agent ${spec.name}: two tools share a model-facing name (dots become "__")`);
  const { name, version, queue, priority, retry, timeoutMs } = spec;
  const options: WorkflowOptions = { queue, priority, retry, timeoutMs };
  return defineWorkflow(
    { name, version, input: agentInputSchema, output: agentOutputSchema, ...definedOnly(options) },
    (ctx, input) => runAgentLoop(ctx, spec, input),
  );
}

const definedOnly = (options: WorkflowOptions): WorkflowOptions =>
  Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));

type WorkflowSpec<TInput, TOutput> = {
  name: string;
  version: number;
  input: z.ZodType<TInput>;
  output: z.ZodType<TOutput>;
} & WorkflowOptions;

/** An agent loop from a spec, or (as before) a workflow from a spec and a function. */
export function defineAgent(spec: AgentLoopSpec): WorkflowDefinition<AgentInput, AgentOutput>;
export function defineAgent<TInput, TOutput>(
  spec: WorkflowSpec<TInput, TOutput>,
  run: (ctx: WorkflowContext, input: TInput) => Promise<TOutput>,
): WorkflowDefinition<TInput, TOutput>;
export function defineAgent<TInput, TOutput>(
  spec: AgentLoopSpec | WorkflowSpec<TInput, TOutput>,
  run?: (ctx: WorkflowContext, input: TInput) => Promise<TOutput>,
): WorkflowDefinition<TInput, TOutput> | WorkflowDefinition<AgentInput, AgentOutput> {
  if (run) return defineWorkflow(spec as WorkflowSpec<TInput, TOutput>, run);
  return defineAgentLoop(spec as AgentLoopSpec);
}
