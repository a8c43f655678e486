/**
 * @module orchestration/agent/types
 * What an agent definition says and what an agent run returns.
 *
 * Glossary
 * - **Turn**: one model call and the tool calls it asked for.
 * - **Prompt node**: the blob naming one prompt sent to a model: the previous prompt's hash and the
 *   messages appended since (see blobs.ts).
 */
import { z } from 'zod';
import type { ModelMessage, ToolCall } from '../../models/index.ts';
import type { WorkflowOptions } from '../define.ts';

/** What `stopWhen` sees after each model call that asked for tools. */
export interface AgentTurn {
  /** 1 for the first model call. */
  readonly turn: number;
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly messages: readonly ModelMessage[];
}

export interface AgentLoopSpec extends WorkflowOptions {
  readonly name: string;
  readonly version: number;
  /** The system message. */
  readonly instructions: string;
  /** `<provider>/<model>` or a configured route. */
  readonly model: string;
  /** Tried in order when the model before gives up (rate limited, unavailable, bad response). */
  readonly fallbackModels?: readonly string[];
  /** Tool names as the tools layer knows them (`math.add`, `mcp.github.search`). */
  readonly tools?: readonly string[];
  /** Model calls allowed in one run; reaching it fails the run with `E_AGENT_MAX_TURNS`. */
  readonly maxTurns: number;
  /** Ends the run after a model call that asked for tools, before running them. Must be deterministic. */
  readonly stopWhen?: (turn: AgentTurn) => boolean;
  /**
   * What one run of this agent may spend, in the tenant's billing currency (`"2.50"`): a lifetime
   * budget of scope `run` set as the run's first journaled call, held by every call it makes beside
   * the tenant's, project's and tree's budgets. Exhausted, the run pauses until a raise is approved.
   */
  readonly budget?: string;
  readonly maxTokens?: number;
  readonly temperature?: number;
}

export const agentInputSchema = z.object({ prompt: z.string().min(1) }).strict();
export type AgentInput = z.infer<typeof agentInputSchema>;

export const agentOutputSchema = z.object({
  text: z.string(),
  turns: z.number().int().positive(),
  stoppedBy: z.enum(['answer', 'stop_when']),
  usage: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    costMicros: z.number().int().nonnegative(),
  }),
});
export type AgentOutput = z.infer<typeof agentOutputSchema>;
