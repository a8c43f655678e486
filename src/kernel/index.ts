/**
 * @module strata/kernel
 * The kernel's public API: errors, ids, clock, config, logging, the store interface, principals and
 * capabilities, the syscall pipeline, the audit log, the event bus and the drivers' health readings. Any new export added here
 * becomes public API. Store drivers are separate subpaths (`strata/store/sqlite`,
 * `strata/store/postgres`) so importing the kernel never loads a database client.
 */
export * from './errors.ts';
export { idPattern, newId } from './ids.ts';
export { ManualClock, systemClock, type Clock } from './clock.ts';
export {
  configSchema,
  databaseUrlOf,
  ENV_KEYS,
  loadConfig,
  type ConfigInput,
  type StrataConfig,
} from './config.ts';
export { createLogger, silentLogger, type Logger } from './logger.ts';
export * from './store/index.ts';
export * from './auth/index.ts';
export * from './audit/index.ts';
export * from './events/index.ts';
export { open as openSealed, parseMasterKey, seal } from './crypto/sealed-box.ts';
export {
  defineSyscall,
  erase,
  secret,
  type IdempotencyClass,
  type RetryPolicy,
  type SyscallContext,
  type SyscallDefinition,
} from './syscalls/define.ts';
export type * from './syscalls/hooks.ts';
export { noBudget, noJournal, noMeter } from './syscalls/hooks.ts';
export { REDACTED } from './syscalls/redact.ts';
export type { CallOptions } from './syscalls/pipeline.ts';
export { withDeadline, type DeadlineOptions, type Overdue } from './syscalls/deadline.ts';
export type { SyscallDescription } from './syscalls/registry.ts';
export { KernelMetrics } from './metrics.ts';
export {
  DriverHealthBoard,
  driverHealthSchema,
  HEALTH_STATUSES,
  readingOf,
  RecentEvents,
  type DriverHealth,
  type DriverHealthReader,
  type HealthFinding,
  type HealthStatus,
} from './health.ts';
export { Kernel, type KernelOptions } from './kernel.ts';
export * from './chaos/index.ts';
