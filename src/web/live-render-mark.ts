/**
 * @module web/live-render-mark
 * How a view's route knows that a request is a live stream's own render of it (live-render.ts),
 * made in process for a page whose stream opening was already checked and audited: the request
 * carries a header whose value is random to this process, which no client can know or send. The
 * view's reads are then `quiet` (see the kernel's CallOptions): on success they write no audit
 * entry and no usage record, so an open dashboard no longer adds a few audit entries to the chain
 * on every render (about ten a second for a tenant whose fleet is busy). Denials and failures are
 * audited as always, and a page load, an htmx fetch or any API call is audited as before.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const LIVE_RENDER_HEADER = 'x-strata-live-render';
const MARK_TEXT = randomBytes(32).toString('base64url');
const MARK = Buffer.from(MARK_TEXT);

/** The header a live stream's in-process render carries. */
export const LIVE_RENDER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  [LIVE_RENDER_HEADER]: MARK_TEXT,
});

/** Whether a request's header value is this process's mark (compared in constant time). */
export function isLiveRender(value: string | undefined): boolean {
  if (value === undefined) return false;
  const given = Buffer.from(value);
  return given.length === MARK.length && timingSafeEqual(given, MARK);
}
