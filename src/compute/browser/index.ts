/**
 * @module compute/browser
 * Headless browser sessions on Debian's Chromium via playwright-core: a warm pool, allow-listed
 * navigation enforced in the network path, an action log with a screenshot per action, idle
 * reaping, and the `browser.*` syscalls. Any new export added here becomes public API.
 */
export { AllowList, parseTargetUrl } from './allow-list.ts';
export type { Extracted, ExtractedLink } from './extract.ts';
export type { ActionRecord, CloseReason, SessionRecord, SessionStatus } from './log-store.ts';
export { BrowserHealth, type BrowserHealthOptions } from './health.ts';
export { BROWSER_LAYER, browserMigrations } from './migrations.ts';
export {
  BrowserPool,
  CHROMIUM_ARGS,
  DEFAULT_CHROMIUM_PATH,
  type BrowserPoolOptions,
  type Lease,
} from './pool.ts';
export { pngSize } from './session-step.ts';
export { BrowserSessions, type BrowserSessionsOptions } from './sessions.ts';
export type {
  ActionResult,
  ExtractResult,
  OpenSessionInput,
  ScreenshotResult,
  SessionInfo,
  SessionRef,
} from './session-types.ts';
export { browserSyscalls } from './syscalls.ts';
