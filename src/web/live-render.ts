/**
 * @module web/live-render
 * What a live stream writes when its page's view or badge is due, as a ready SSE message.
 *
 * The session is checked first (the page's token, as on any request: expiry and revocation; at most
 * once a second, so a session that ends gets no render more than a second after it ended). Then
 * a fresh render the tenant's pages share (fragment-cache.ts) is reused as it is: ten pages on one
 * view at the same tick cost one render, and one message, encoded once and written ten times; its
 * id is the render's head, through which it shows every event. Otherwise the view's own route is
 * called in process with the page's cookie, as a live re-fetch (`HX-Request`, `X-Strata-Seq`): the
 * same middleware and reads as the operator, minus the HTTP parsing and the socket; it fills the
 * shared render for the other pages, or, for a view that holds a per-session value (a form's CSRF
 * token), is this page's alone.
 */
import { isStrataError, type Principal } from '../kernel/index.ts';
import { FragmentCache, type Render } from './fragment-cache.ts';
import { LIVE_RENDER_HEADERS } from './live-render-mark.ts';
import { VIEW_CLOSE, VIEW_OPEN } from './render.ts';

export type ViewFetch = (url: string, init: RequestInit) => Promise<Response>;

export type LiveOutput =
  /** `data`: what the message shows, to tell a render that changed nothing (the badge's count). */
  | { readonly kind: 'message'; readonly message: Uint8Array; readonly data: string }
  /** The session expired or was revoked: where the page should go. */
  | { readonly kind: 'expired'; readonly location: string }
  /** The render failed (the view logged why); the page keeps what it shows. */
  | { readonly kind: 'failed'; readonly status: number };

export interface LiveRender {
  /** The view's inner HTML (`event: view`), showing every event up to `seq` at least. */
  view(seq: number): Promise<LiveOutput>;
  /** The badge's `{"count":n}` (`event: badge`), showing every event up to `seq` at least. */
  badge(seq: number): Promise<LiveOutput>;
}

export interface LiveRenderDeps {
  readonly fetchView: ViewFetch;
  readonly authenticate: (token: string) => Promise<Principal>;
  readonly fragments: FragmentCache;
}

export interface LivePage {
  readonly viewUrl: string;
  readonly origin: string;
  /** The session cookie's token. */
  readonly token: string;
  readonly cookieName: string;
}

const LOGIN_EXPIRED = '/ui/login?expired=1';
/** A session that ends (expires, is revoked) gets no render more than this after it ended. */
const SESSION_RECHECK_MS = 1000;
const encoder = new TextEncoder();

/** One SSE message; `data` may span lines (each becomes a `data:` line). */
export function sseMessage(event: string, data: string, id?: number): string {
  const lines = data.replace(/\r\n?/g, '\n').replaceAll('\n', '\ndata: ');
  return `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${lines}\n\n`;
}

/** Each shared render's message, built once for all the streams that write it. */
const written = new WeakMap<Render, Uint8Array>();
const sharedMessage = (event: string, render: Render): Uint8Array => {
  let bytes = written.get(render);
  if (!bytes) {
    bytes = encoder.encode(sseMessage(event, render.html, render.head));
    written.set(render, bytes);
  }
  return bytes;
};

const inner = (text: string): string =>
  text.startsWith(VIEW_OPEN) && text.endsWith(VIEW_CLOSE)
    ? text.slice(VIEW_OPEN.length, text.length - VIEW_CLOSE.length)
    : text;

export function liveRender(deps: LiveRenderDeps, page: LivePage): LiveRender {
  const cookie = `${page.cookieName}=${page.token}`;
  const badgeUrl = `${page.origin}/ui/needs-you/count`;

  /**
   * The session's keys, or undefined when it has ended (expired, revoked). Checked at most
   * once a second: a page gets up to five renders a second, and each check reads the revocations.
   */
  let checked: { readonly at: number; readonly keys: Readonly<Record<string, string>> } | undefined;
  /** The fragment cache's keys of the view and badge (they hold the grants), made once per check. */
  const session = async (): Promise<Readonly<Record<string, string>> | undefined> => {
    const now = Date.now();
    if (checked && now - checked.at < SESSION_RECHECK_MS) return checked.keys;
    try {
      const principal: Principal = await deps.authenticate(page.token);
      const keys = {
        [page.viewUrl]: FragmentCache.keyOf(principal, page.viewUrl),
        [badgeUrl]: FragmentCache.keyOf(principal, badgeUrl),
      };
      checked = { at: now, keys };
      return keys;
    } catch (error) {
      if (isStrataError(error) && error.httpStatus === 401) return undefined;
      throw error;
    }
  };

  const render = async (
    event: 'view' | 'badge',
    url: string,
    headers: Record<string, string>,
    seq: number,
  ): Promise<LiveOutput> => {
    const keys = await session();
    if (!keys) return { kind: 'expired', location: LOGIN_EXPIRED };
    const key = keys[url] ?? '';
    const shared = await deps.fragments.peek(key, seq);
    if (shared) return { kind: 'message', message: sharedMessage(event, shared), data: shared.html };
    const res = await deps.fetchView(url, {
      headers: { cookie, 'x-strata-seq': String(seq), ...LIVE_RENDER_HEADERS, ...headers },
    });
    if (res.status === 401 || (res.status >= 300 && res.status < 400)) {
      await res.body?.cancel();
      const location = res.headers.get('hx-redirect') ?? res.headers.get('location') ?? LOGIN_EXPIRED;
      return { kind: 'expired', location };
    }
    const text = await res.text();
    if (res.status >= 500) return { kind: 'failed', status: res.status };
    // The render this request made, now shared: the other pages' streams write the same bytes.
    const made = await deps.fragments.peek(key, seq, { count: false });
    if (made) return { kind: 'message', message: sharedMessage(event, made), data: made.html };
    const data = event === 'view' ? inner(text) : text;
    return { kind: 'message', message: encoder.encode(sseMessage(event, data, seq)), data };
  };

  return {
    view: (seq) => render('view', page.viewUrl, { 'hx-request': 'true' }, seq),
    badge: (seq) => render('badge', badgeUrl, {}, seq),
  };
}
