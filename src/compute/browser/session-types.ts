/**
 * @module compute/browser/session-types
 * What callers of the browser sessions pass and get back (sessions.ts re-exports them).
 */
import type { ExtractedLink } from './extract.ts';
import type { SessionRecord } from './log-store.ts';

export interface SessionRef {
  readonly tenantId: string;
  readonly sessionId: string;
}

export interface OpenSessionInput {
  readonly tenantId: string;
  /** Who opened it (principal id), recorded with the session. */
  readonly principal: string;
  readonly allowUrls: readonly string[];
  /** Name of a persistent profile (cookies, storage) kept across sessions. */
  readonly persistentContext?: string;
  /** How long to wait for a free slot when every one is taken (default 0: E_RATE_LIMITED at once). */
  readonly waitMs?: number;
}

export interface ScreenshotRef {
  readonly sha256: string;
  readonly bytes: number;
}

export interface ActionResult {
  readonly sessionId: string;
  readonly seq: number;
  readonly url: string;
  readonly title: string;
  /** HTTP status of the document, for `goto`. */
  readonly status?: number;
  readonly screenshot: ScreenshotRef | null;
}

export interface ExtractResult extends ActionResult {
  readonly text: string;
  readonly links: readonly ExtractedLink[];
  readonly truncated: boolean;
}

export interface ScreenshotResult extends ActionResult {
  readonly width: number;
  readonly height: number;
  readonly png: Buffer;
}

export type SessionInfo = SessionRecord & { live: boolean };
