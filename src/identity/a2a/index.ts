/**
 * @module strata/identity/a2a
 * A2A 1.0 endpoints and client, on the official `@a2a-js/sdk`: signed agent cards with a
 * proof-of-possession challenge, the JSON-RPC binding (SSE streaming, tasks persisted in the store,
 * safe push notifications), the AI catalog, and `a2a.call` for calling remote agents.
 *
 * @example
 * ```ts
 * const service = await A2aService.open({ store, masterKey, baseUrl: 'https://strata.example',
 *   agents: [{ card: { name: 'echo', description: 'Echoes', skills: [] }, signer,
 *              executor: new InProcessExecutor(async (t) => ({ state: 'completed', text: t.text })) }] });
 * app.route('/', a2aRoutes(service));
 * const answer = await a2aCall({ url: 'https://other.example/a2a/echo', text: 'hi' });
 * ```
 * Any new export added here becomes public API.
 */
export {
  A2A_ASK_STEP,
  A2A_INPUT_SIGNAL,
  a2aTaskInput,
  a2aTaskOutput,
  askCaller,
  type A2aTaskInput,
  type A2aTaskOutput,
  type AskingContext,
} from './ask.ts';
export { POP_EXTENSION_URI, agentCardUrl, agentUrl, buildAgentCard, signAgentCard } from './card.ts';
export type { A2aCardSpec, A2aSkillSpec } from './card.ts';
export { buildAiCatalog, AI_CATALOG_MEDIA_TYPE, type AiCatalog, type AiCatalogEntry } from './catalog.ts';
export { a2aCall, cardUrlOf, type A2aCallOptions, type A2aCallResult, type A2aTrust } from './client.ts';
export {
  InProcessExecutor,
  type A2aExecutor,
  type A2aHandler,
  type A2aReply,
  type A2aTurn,
} from './executor.ts';
export { A2A_LAYER } from './migrations.ts';
export { answerChallenge, verifyPopAnswer } from './pop.ts';
export type { PushDelivery } from './push.ts';
export { a2aRoutes } from './routes.ts';
export { A2aService, type A2aAgentOptions, type A2aServiceOptions } from './service.ts';
export { cardSignerFromKey, type CardSigner } from './signer.ts';
export { a2aSyscalls, type A2aSyscallOptions } from './syscalls.ts';
export { verifyCard, type VerifiedCard, type VerifyCardOptions } from './verify-card.ts';
