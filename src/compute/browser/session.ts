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
import type { BrowserContext, Page, Route } from 'playwright-core';
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
  seq = 0;
  readonly #pages: Page[];
  readonly #pending = new Set<Promise<void>>();
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

  /** Installs routing and popup tracking; call once before handing the session out. */
  async install(): Promise<void> {
    await this.context.route('**/*', (route) => this.#route(route));
    await this.context.routeWebSocket(/.*/, async (ws) => {
      if (this.allow.allows(ws.url().replace(/^ws/, 'http'))) {
        ws.connectToServer();
        return;
      }
      this.#refuse(ws.url(), 'websocket');
      await ws.close({ code: 1008, reason: 'not in the allow-list' });
    });
    this.context.on('page', (page) => this.#adopt(page));
  }

  refusalsSince(mark: number): Refusal[] {
    return this.refusals.slice(mark).filter((r) => r.kind !== 'subresource' && r.kind !== 'websocket');
  }

  #adopt(page: Page): void {
    if (this.#pages.includes(page)) return;
    this.#pages.push(page);
    const loaded = Promise.race([
      page.waitForLoadState('domcontentloaded').catch(() => undefined),
      page.waitForEvent('close').catch(() => undefined),
    ]).then(async () => {
      // A refused popup whose frame did not exist yet when its request was refused: close it now.
      if (this.refusals.some((r) => r.kind === 'popup' && r.url === page.url())) {
        await page.close().catch(() => undefined);
      }
      this.#pending.delete(loaded);
    });
    this.#pending.add(loaded);
    page.on('close', () => {
      const at = this.#pages.indexOf(page);
      if (at > 0) this.#pages.splice(at, 1);
    });
  }

  #refuse(url: string, kind: Refusal['kind']): void {
    this.refusals.push({ url, kind, at: this.#now() });
  }

  async #route(route: Route): Promise<void> {
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
  async settlePopups(timeoutMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const pending = [...this.#pending];
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(pending), late]);
    clearTimeout(timer);
  }

  /** Stops routing (so no handler runs against a closing context) and closes the context. */
  async close(): Promise<void> {
    await this.context.unrouteAll({ behavior: 'ignoreErrors' }).catch(() => undefined);
    await this.context.close().catch(() => undefined);
  }
}
