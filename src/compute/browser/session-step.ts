/**
 * @module compute/browser/session-step
 * One action on a live browser session, as every action runs: the step (a planned Chromium crash
 * first, when chaos says so), the allow-list's refusals it caused, then a screenshot after it,
 * the action appended to the session's log (failed and refused ones too), and its result or its
 * error. The sessions (sessions.ts) queue the steps of a session one at a time around this.
 */
import type { Page } from 'playwright-core';
import { StrataError, takeChaosFault } from '../../kernel/index.ts';
import { crashBrowserOf } from './chaos-crash.ts';
import { browserError } from './errors.ts';
import { sha256Of, type ActionRecord, type BrowserLog } from './log-store.ts';
import type { LiveSession } from './session.ts';
import type { ActionResult } from './session-types.ts';

export interface Step<T> {
  readonly kind: string;
  readonly detail: Record<string, unknown>;
  readonly selector?: string;
  readonly url?: string;
  readonly timeoutMs: number;
  /** Screenshot after the action (false when the action is itself a screenshot). @default true */
  readonly screenshot?: boolean;
  readonly run: (live: LiveSession) => Promise<T>;
}

export type Outcome = { status?: number; png?: Buffer };

export interface StepDeps {
  readonly log: BrowserLog;
  readonly now: () => number;
}

/** Runs `step` on `live`, logs it with a screenshot, and returns its result or throws its error. */
export async function performStep<T extends Outcome>(
  live: LiveSession,
  step: Step<T>,
  deps: StepDeps,
): Promise<{ result: ActionResult; png?: Buffer }> {
  const started = deps.now();
  const mark = live.refusals.length;
  let outcome: Outcome = {};
  let failure: StrataError | undefined;
  try {
    if (takeChaosFault('compute', 'browser_crash')) await crashBrowserOf(live.context);
    outcome = await step.run(live);
  } catch (error) {
    failure = browserError(error, step);
  }
  const refused = live.refusalsSince(mark)[0];
  if (failure === undefined && refused !== undefined) failure = notAllowed(refused.url, refused.kind);
  const page = live.page;
  const png =
    step.screenshot === false
      ? outcome.png
      : await page.screenshot({ type: 'png', timeout: 5_000 }).catch(() => undefined);
  const sha256 = png === undefined ? null : sha256Of(png);
  live.seq += 1;
  const title = await page.title().catch(() => '');
  const action: ActionRecord = {
    seq: live.seq,
    kind: step.kind,
    detail: step.detail,
    ok: failure === undefined,
    url: page.url(),
    title,
    error: failure === undefined ? null : { code: failure.code, message: failure.message },
    screenshot: sha256,
    durationMs: deps.now() - started,
    at: started,
  };
  await deps.log.record(live.id, action, png);
  if (failure) throw failure;
  const result: ActionResult = {
    sessionId: live.id,
    seq: action.seq,
    url: action.url ?? '',
    title,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    screenshot: png === undefined || sha256 === null ? null : { sha256, bytes: png.length },
  };
  return png === undefined ? { result } : { result, png };
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export function notAllowed(url: string, kind: string): StrataError {
  return new StrataError(
    'E_URL_NOT_ALLOWED',
    `${url} is outside this browser session's allow-list (${kind} refused); open a session that allows it`,
    { url, kind },
  );
}

/** After a click or key press, waits for a navigation it started to load (bounded, never fails). */
export async function settle(live: LiveSession, opener: Page, timeoutMs: number): Promise<void> {
  await live.settlePopups(opener, timeoutMs);
  await live.page.waitForLoadState('load', { timeout: timeoutMs }).catch(() => undefined);
}
