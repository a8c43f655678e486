/**
 * @module strata/provisioning
 * Resources on demand, meter events, price book, double-entry ledger, budgets (the pipeline budget hook), spend tokens.
 *
 * This layer's code has not landed yet: tracked in issue 9. Until then this entry exports only
 * its status, so `strata/provisioning` resolves and tools can report what exists.
 */
export const LAYER = { name: 'provisioning', status: 'planned', issue: 9 } as const;
