/**
 * @module orchestration/agent
 * The durable agent loop (issue 12, item 1): `defineAgent` with instructions, a model, fallbacks,
 * tools and `maxTurns`; prompts stored once as content-addressed blobs. Any new export added here
 * becomes public API through the orchestration index.
 */
export { defineAgent, defineAgentLoop } from './define-agent.ts';
export { AGENT_LAYER, agentMigrations, getBlob, loadPrompt, putBlob, type PromptNode } from './blobs.ts';
export { modelToolName } from './tool-calls.ts';
export {
  agentInputSchema,
  agentOutputSchema,
  type AgentInput,
  type AgentLoopSpec,
  type AgentOutput,
  type AgentTurn,
} from './types.ts';
