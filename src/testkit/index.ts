/**
 * @module strata/testkit
 * Conformance suites a driver runs to prove it snaps in, and test helpers. Any new export added
 * here becomes public API.
 */
export { describeStoreConformance } from './store-conformance.ts';
export { createTestDatabase } from './pg.ts';
export { freshDatabase, onEveryStore, withCode, type StoreHandle } from './stores.ts';
export { describeSandboxConformance, type SandboxManagerFactory } from './sandbox-conformance.ts';
export { describeMemoryConformance } from './memory-conformance.ts';
export { describeModelProviderConformance, type ProviderUnderTest } from './model-provider-conformance.ts';
export {
  resourceDriverConformance,
  RESOURCE_DRIVER_TESTS,
  type ResourceDriverConformanceOptions,
  type ResourceDriverFactory,
  type ResourceDriverTest,
} from './resource-driver-conformance.ts';
