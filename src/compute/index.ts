/**
 * @module strata/compute
 * Sandboxes (bubblewrap; ephemeral and persistent) with streaming exec, files, snapshots, resource and network limits; headless Chromium sessions via playwright-core.
 *
 * This layer's code has not landed yet: tracked in issue 4. Until then this entry exports only
 * its status, so `strata/compute` resolves and tools can report what exists.
 */
export const LAYER = { name: 'compute', status: 'planned', issue: 4 } as const;
