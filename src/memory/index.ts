/**
 * @module strata/memory
 * Memory that agents own: facts with history, hybrid retrieval (full text, vectors, entity graph,
 * recency) scoped by tenant/user/agent/run, extraction offline or through a model, and JSON Lines
 * export/import. Any new export added here becomes public API.
 *
 * @example
 * const memory = await MemoryService.open({ store });
 * await memory.add('ten_1', { userId: 'alice' }, [{ name: 'Alice', content: 'I moved to Berlin.' }]);
 * const hits = await memory.search('ten_1', { userId: 'alice' }, 'where does Alice live?');
 */
export const LAYER = { name: 'memory', status: 'available', issue: 5 } as const;

export { MemoryService, type ListOptions, type MemoryServiceOptions } from './memory.ts';
export { memorySyscalls, type MemorySyscallOptions, type SyscallCaller } from './syscalls.ts';
export {
  HashingEmbedder,
  OpenAiCompatibleEmbedder,
  type Embedder,
  type HashingEmbedderOptions,
  type OpenAiCompatibleEmbedderOptions,
} from './embedder.ts';
export {
  OfflineExtractor,
  type CandidateFact,
  type FactExtractor,
  type Slot,
  type SourceMessage,
} from './extract.ts';
export { ModelExtractor, type Generate } from './model-extractor.ts';
export { DEFAULT_WEIGHTS, type FusionWeights } from './search-index.ts';
export { scopeResource } from './scope.ts';
export { LIMITS as MEMORY_LIMITS } from './limits.ts';
export { MEMORY_LAYER, memoryMigrations } from './migrations.ts';
export type * from './types.ts';
