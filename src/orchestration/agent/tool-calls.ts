/**
 * @module orchestration/agent/tool-calls
 * The agent's tools as the model sees them and as the tools layer runs them. Tool names are dotted
 * (`math.add`, `mcp.github.search`) but model APIs accept only `[a-zA-Z0-9_-]{1,64}`, so each dot
 * becomes `__` on the way out and the model's name is mapped back through a table, never guessed.
 * Every lookup and call is a journaled syscall (`tools.describe`, `tools.call`): capability-checked,
 * metered and audited, and never repeated on replay.
 */
import { isStrataError } from '../../kernel/index.ts';
import type { ToolCall, ToolSpec } from '../../models/index.ts';
import type { WorkflowContext } from '../context.ts';

/** The model-facing name of a tool. */
export const modelToolName = (tool: string): string => tool.replaceAll('.', '__');

export interface AgentTools {
  readonly specs: ToolSpec[];
  /** Model-facing name → tool name. */
  readonly byModelName: ReadonlyMap<string, string>;
}

interface ToolDescription {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

interface ToolCallResult {
  content: { type: string; text?: unknown }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** Describes each of the agent's tools once (journaled), in the order the agent lists them. */
export async function describeTools(ctx: WorkflowContext, tools: readonly string[]): Promise<AgentTools> {
  const specs: ToolSpec[] = [];
  const byModelName = new Map<string, string>();
  for (const tool of tools) {
    const info = await ctx.syscall<ToolDescription>('tools.describe', { tool });
    const name = modelToolName(info.name);
    specs.push({ name, description: info.description.slice(0, 4096), parameters: info.inputSchema });
    byModelName.set(name, info.name);
  }
  return { specs, byModelName };
}

/**
 * Runs one tool call the model asked for and returns the text to send back as the tool message.
 * Failures the model can act on (unknown tool, bad arguments, a tool error, a denied capability)
 * are told to the model rather than failing the run; anything else (a lost lease, an abort, a bug)
 * propagates.
 */
export async function runToolCall(ctx: WorkflowContext, tools: AgentTools, call: ToolCall): Promise<string> {
  const tool = tools.byModelName.get(call.name);
  if (tool === undefined) return errorText('E_NOT_FOUND', `no tool named "${call.name}" is available`);
  const args = call.arguments ?? {};
  try {
    const result = await ctx.syscall<ToolCallResult>('tools.call', { tool, arguments: args });
    const text = result.content
      .map((block) =>
        block.type === 'text' && typeof block.text === 'string' ? block.text : JSON.stringify(block),
      )
      .join('\n');
    return result.isError ? errorText('E_TOOL_ERROR', text) : text;
  } catch (error) {
    if (isStrataError(error) && TOLD_TO_MODEL.has(error.code)) return errorText(error.code, error.message);
    throw error;
  }
}

const TOLD_TO_MODEL = new Set(['E_INVALID_INPUT', 'E_TOOL_ERROR', 'E_NOT_FOUND', 'E_CAPABILITY_DENIED']);

const errorText = (code: string, message: string): string => JSON.stringify({ error: { code, message } });
