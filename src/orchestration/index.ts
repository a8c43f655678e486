/**
 * @module strata/orchestration
 * Durable runs (journaled steps, replay; the pipeline journal hook), scheduler, leases, supervision, escalations, merge queue.
 *
 * This layer's code has not landed yet: tracked in issue 3. Until then this entry exports only
 * its status, so `strata/orchestration` resolves and tools can report what exists.
 */
export const LAYER = { name: 'orchestration', status: 'planned', issue: 3 } as const;
