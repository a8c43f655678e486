/**
 * @module strata
 * Strata, an operating system for AI agents. The root entry re-exports the kernel (errors, config,
 * store interface, capabilities, the syscall pipeline, audit, events). Each layer has its own
 * subpath (`strata/memory`, `strata/compute`, …) and each store driver too (`strata/store/sqlite`,
 * `strata/store/postgres`), so importing the root never loads a database client.
 *
 * @example
 * import { Kernel, openStore } from 'strata';
 * const kernel = await Kernel.open({ store: await openStore('sqlite:.strata/strata.db'), masterKey });
 */
export * from './kernel/index.ts';

/** What exists, layer by layer, with the issue that built (or is building) it. */
export const LAYERS = [
  { name: 'kernel', status: 'built' },
  { name: 'compute', status: 'built', issue: 4 },
  { name: 'identity', status: 'built', issue: 10 },
  { name: 'memory', status: 'built', issue: 5 },
  { name: 'tools', status: 'built', issue: 6 },
  { name: 'provisioning', status: 'built', issue: 9 },
  { name: 'orchestration', status: 'built', issue: 12 },
  { name: 'models', status: 'built', issue: 7 },
  { name: 'mergequeue', status: 'in progress', issue: 13 },
] as const;
