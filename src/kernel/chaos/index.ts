/**
 * @module kernel/chaos
 * Fault injection for the syscall pipeline: the `chaos` config block, the seeded injector, the hook
 * drivers use to realise named faults, and the `chaos.*` syscalls. Off by default; refused in
 * production mode unless forced.
 */
export {
  chaosSchema,
  modeSchema,
  type ChaosConfig,
  type ChaosConfigInput,
  type ChaosOutage,
  type ChaosRule,
  type RuntimeMode,
} from './config.ts';
export {
  FAULT_LAYER,
  injectedError,
  layerOf,
  NAMED_FAULTS,
  type FaultKind,
  type NamedFault,
} from './faults.ts';
export {
  assertChaosAllowed,
  ChaosInjector,
  type ChaosInjectorOptions,
  type ChaosStatus,
  type FaultMark,
} from './injector.ts';
export { chaosFaultPlanned, chaosProviderDown, hangUntilAborted, takeChaosFault } from './scope.ts';
export { chaosSyscalls } from './syscalls.ts';
