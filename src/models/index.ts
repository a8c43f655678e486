/**
 * @module strata/models
 * Model providers (OpenAI-compatible, Anthropic, scripted), token and cost accounting.
 *
 * This layer's code has not landed yet: tracked in issue 7. Until then this entry exports only
 * its status, so `strata/models` resolves and tools can report what exists.
 */
export const LAYER = { name: 'models', status: 'planned', issue: 7 } as const;
