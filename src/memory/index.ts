/**
 * @module strata/memory
 * Facts with history, hybrid retrieval (full text, vectors, entity graph, recency) scoped by tenant/user/agent/run, export and import.
 *
 * This layer's code has not landed yet: tracked in issue 5. Until then this entry exports only
 * its status, so `strata/memory` resolves and tools can report what exists.
 */
export const LAYER = { name: 'memory', status: 'planned', issue: 5 } as const;
