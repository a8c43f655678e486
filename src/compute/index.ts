/**
 * @module strata/compute
 * Sandboxes for agent code: ephemeral (tmpfs workspace, gone on destroy) or persistent (named
 * workspace on disk that survives restarts), with streaming exec, files, tar transfer, snapshots
 * by content hash, pause/resume and limits (memory, pids, CPU, wall time, workspace size, output).
 * The default driver is bubblewrap (every namespace unshared, network none or an allow-list through
 * an egress proxy); the process driver isolates nothing and must be allowed explicitly.
 *
 * @example
 * const sandboxes = await SandboxManager.open({ dataDir: '.strata', drivers: [new BubblewrapDriver({ stateDir: '.strata/compute/state' })] });
 * const box = await sandboxes.create({ kind: 'ephemeral', runtimes: ['python3'] });
 * const { stdout } = await box.exec('python3 -c "print(6 * 7)"');
 * await box.destroy();
 */
export type {
  ExecOptions,
  ExecResult,
  FileEntry,
  LimitName,
  NetworkPolicy,
  PrepareRequest,
  RunRequest,
  Sandbox,
  SandboxDriver,
  SandboxFiles,
  SandboxInfo,
  SandboxKind,
  SandboxLimits,
  SandboxRunner,
  SandboxSpec,
  SandboxState,
  SnapshotRef,
} from './sandbox/types.ts';
export { DEFAULT_LIMITS, parseSpec, specInputSchema, type SandboxSpecInput } from './sandbox/spec.ts';
export { SandboxManager, type SandboxManagerOptions } from './sandbox/manager.ts';
export { SandboxHealth, type SandboxHealthOptions } from './sandbox/health.ts';
export { truncationMarker } from './sandbox/process-run.ts';
export { BubblewrapDriver, type BubblewrapDriverOptions } from './drivers/bubblewrap/index.ts';
export { ProcessDriver, INSECURE_WARNING, type ProcessDriverOptions } from './drivers/process/index.ts';
export { openSandboxes, type OpenSandboxesOptions } from './open.ts';
export { sandboxSyscalls } from './syscalls.ts';
export const LAYER = { name: 'compute', status: 'available', issue: 4 } as const;
export {
  AllowList,
  BrowserHealth,
  BrowserPool,
  BrowserSessions,
  browserSyscalls,
  CHROMIUM_ARGS,
  DEFAULT_CHROMIUM_PATH,
  type ActionRecord,
  type ActionResult,
  type BrowserHealthOptions,
  type BrowserPoolOptions,
  type BrowserSessionsOptions,
  type ExtractResult,
  type ScreenshotResult,
  type SessionInfo,
} from './browser/index.ts';
