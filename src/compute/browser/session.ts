/**
 * @module compute/browser/session
 * One live browser session: a context, its active page, and the allow-list enforced on every
 * request the context makes. Enforcement is in the network path, not a check before `goto`, so it
 * also covers what a page does by itself:
 *
 * - redirects: a document request is fetched with redirects off; a 3xx pointing outside the list is
 *   answered with a refusal page instead (Playwright's routing does not see redirect hops);
 * - top-level navigations started by scripts, forms, meta refresh or links, and popups
 *   (`window.open`, `target=_blank`): their request never leaves; a refused popup is closed;
 * - subresources (scripts, images, fetch/XHR) and WebSockets outside the list are aborted;
 * - service workers are blocked (they would fetch outside the context's routing);
 * - the refusal page declares an inline icon: Chromium fetches `/favicon.ico` outside page
 *   routing, so without it a refused host would still see that one request.
 *
 * Refused navigations are remembered in order, so the action that caused one fails with
 * E_URL_NOT_ALLOWED naming the URL, and the log shows what the page attempted on its own.
 */
import type { BrowserContext, Page, Route, WebSocketRoute } from 'playwright-core';
import type { AllowList } from './allow-list.ts';

export interface Refusal {
  readonly url: string;
  /** `navigation` (a document), `redirect` (a 3xx hop), `popup`, `subresource`, `websocket`. */
  readonly kind: 'navigation' | 'redirect' | 'popup' | 'subresource' | 'websocket';
  readonly at: number;
}

const REFUSAL_PAGE = (url: string): string =>
  `<!doctype html><link rel="icon" href="data:,"><title>Blocked by Strata</title><h1>Blocked by Strata</h1><p>${url
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')} is not in this browser session's allow-list.</p>`;

/** Counts, in the page, what may open a window; `TAKE_POPUPS` reads and resets the count. */
const COUNT_POPUPS = `(() => {
  let opened = 0;
  const open = window.open;
  window.open = function (...args) { opened += 1; return open.apply(this, args); };
  Object.defineProperty(window, '__strataTakePopups', { value: () => { const n = opened; opened = 0; return n; } });
  document.addEventListener('click', (event) => {
    const el = event.target instanceof Element ? event.target.closest('a[target], button, input') : null;
    const target = el && (el.getAttribute('target') || (el.form && el.form.getAttribute('target')));
    if (target && !['_self', '_top', '_parent'].includes(target)) opened += 1;
  }, true);
})()`;
const TAKE_POPUPS = `typeof window.__strataTakePopups === 'function' ? window.__strataTakePopups() : 0`;

const owners = new WeakMap<BrowserContext, LiveSession>();
const prepared = new WeakSet<BrowserContext>();

/**
 * Installs the routing hooks on a context, once. The pool calls it when it creates a spare context,
 * so opening a session only binds the context to the session (no round trip to Chromium). Until a
 * session owns the context, every request it would make is refused.
 */
export async function prepareContext(context: BrowserContext): Promise<void> {
  if (prepared.has(context)) return;
  prepared.add(context);
  await context.addInitScript({ content: COUNT_POPUPS });
  await context.route('**/*', async (route) => {
    const owner = owners.get(context);
    await (owner ? owner.handleRoute(route) : route.abort('blockedbyclient'));
  });
  await context.routeWebSocket(/.*/, async (ws) => {
    const owner = owners.get(context);
    await (owner ? owner.handleWebSocket(ws) : ws.close({ code: 1008, reason: 'no session' }));
  });
  context.on('page', (page) => owners.get(context)?.adopt(page));
}

export interface LiveSessionOptions {
  readonly id: string;
  readonly tenantId: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly allow: AllowList;
  readonly profile: string | null;
  readonly now: () => number;
}

export class LiveSession {
  readonly id: string;
  readonly tenantId: string;
  readonly context: BrowserContext;
  readonly allow: AllowList;
  readonly profile: string | null;
  readonly refusals: Refusal[] = [];
  lastActivity: number;
  /** Actions run one at a time: the tail of the queue. */
  queue: Promise<unknown> = Promise.resolve();
  /** Actions running now (the idle reaper leaves a busy session alone). */
  busy = 0;
  seq = 0;
  readonly #pages: Page[];
  readonly #pending = new Set<Promise<void>>();
  readonly #waiters: (() => void)[] = [];
  readonly #now: () => number;

  constructor(options: LiveSessionOptions) {
    this.id = options.id;
    this.tenantId = options.tenantId;
    this.context = options.context;
    this.allow = options.allow;
    this.profile = options.profile;
    this.#pages = [options.page];
    this.#now = options.now;
    this.lastActivity = options.now();
  }

  /** The page actions apply to: the latest open popup, else the first page. */
  get page(): Page {
    return this.#pages.at(-1) as Page;
  }

  /** Binds the (prepared) context to this session; call once before handing the session out. */
  async install(): Promise<void> {
    await prepareContext(this.context);
    owners.set(this.context, this);
  }

  /** @internal The WebSocket half of the allow-list. */
  async handleWebSocket(ws: WebSocketRoute): Promise<void> {
    if (this.allow.allows(ws.url().replace(/^ws/, 'http'))) {
      ws.connectToServer();
      return;
    }
    this.#refuse(ws.url(), 'websocket');
    await ws.close({ code: 1008, reason: 'not in the allow-list' });
  }

  refusalsSince(mark: number): Refusal[] {
    return this.refusals.slice(mark).filter((r) => r.kind !== 'subresource' && r.kind !== 'websocket');
  }

  /** @internal Tracks a page the context opened (a popup). */
  adopt(page: Page): void {
    if (this.#pages.includes(page)) return;
    this.#pages.push(page);
    const loaded = Promise.race([
      page.waitForLoadState('domcontentloaded').catch(() => undefined),
      page.waitForEvent('close').catch(() => undefined),
    ]).then(async () => {
      // A popup whose document was refused (its frame may not have existed yet then): close it.
      if (this.refusals.some((r) => r.kind !== 'subresource' && r.url === page.url())) {
        await page.close().catch(() => undefined);
      }
      this.#pending.delete(loaded);
    });
    this.#pending.add(loaded);
    for (const wake of this.#waiters.splice(0)) wake();
    page.on('close', () => {
      const at = this.#pages.indexOf(page);
      if (at > 0) this.#pages.splice(at, 1);
    });
  }

  #refuse(url: string, kind: Refusal['kind']): void {
    this.refusals.push({ url, kind, at: this.#now() });
  }

  /** @internal The request half of the allow-list. */
  async handleRoute(route: Route): Promise<void> {
    const request = route.request();
    const url = request.url();
    const isDocument = request.isNavigationRequest();
    // A popup's first request may come before its frame exists: then it is a popup by definition.
    let page: Page | undefined;
    try {
      page = request.frame().page();
    } catch {
      page = undefined;
    }
    const refuse = async (blocked: string, kind: Refusal['kind']): Promise<void> => {
      this.#refuse(blocked, kind);
      if (!isDocument) return route.abort('blockedbyclient');
      await route.fulfill({
        status: 403,
        contentType: 'text/html; charset=utf-8',
        body: REFUSAL_PAGE(blocked),
      });
      if (kind === 'popup') await page?.close().catch(() => undefined);
    };
    try {
      if (!this.allow.allows(url)) {
        if (!isDocument) return await refuse(url, 'subresource');
        const popup =
          page === undefined ||
          (page !== this.#pages[0] && page.url() === 'about:blank' && (await page.opener()) !== null);
        return await refuse(url, popup ? 'popup' : 'navigation');
      }
      if (!isDocument) return await route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      const location = response.headers()['location'];
      if (response.status() >= 300 && response.status() < 400 && location !== undefined) {
        const next = new URL(location, url).href;
        if (!this.allow.allows(next)) return await refuse(next, 'redirect');
      }
      return await route.fulfill({ response });
    } catch {
      // The page or context closed mid-request, or the server is unreachable: let Chromium fail it.
      await route.abort('failed').catch(() => undefined);
    }
  }

  /**
   * Waits (bounded) for popups opened by the last action to load or be refused and closed, so the
   * action sees their outcome. Popup events arrive just after the click that caused them.
   */
  async settlePopups(opener: Page, timeoutMs: number): Promise<void> {
    // The page counts what could open a window (window.open, links and forms with a target); a
    // popup's 'page' event arrives asynchronously, so wait for it only when one was opened.
    const opened = await opener.evaluate<number>(TAKE_POPUPS).catch(() => 0);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    if (opened > 0 && this.#pending.size === 0) {
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), late]);
    }
    await Promise.race([Promise.all([...this.#pending]), late]);
    clearTimeout(timer);
  }

  /** Stops routing (so no handler runs against a closing context) and closes the context. */
  async close(): Promise<void> {
    await this.context.unrouteAll({ behavior: 'ignoreErrors' }).catch(() => undefined);
    await this.context.close().catch(() => undefined);
  }
}
