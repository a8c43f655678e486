/**
 * @module web/layout
 * The page shell every view renders into. Pages are HTML rendered on the server with `hono/html`
 * tagged templates (every interpolated value escaped), not JSX: Strata runs its TypeScript by
 * Node's type stripping, which does not cover JSX, and the dashboard should need no build step.
 *
 * The shell carries what the browser side needs, with no inline script or style (the page's CSP is
 * `default-src 'self'`): the CSRF token in a meta tag (htmx sends it on every request, see
 * assets/app.js), and the live stream's topics (the view's, and the needs-you badge's) and the
 * sequence the page was rendered at in data attributes, so the stream resumes exactly after what
 * the page shows. htmx is told to add no indicator `<style>` and, when it swaps a live view in, not
 * to carry an element's `style` over from the old node (its default settles `class`, `style`,
 * `width`, `height`): a style set through the CSSOM, by an extension or a test's screenshot, would
 * come back as a `style` attribute, which the CSP refuses.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { assetUrl as asset } from './assets.ts';
import { NEEDS_YOU_TOPICS } from './nav.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface NavItem {
  readonly href: string;
  readonly label: string;
}

export interface PageOptions {
  readonly title: string;
  /** The path of the nav item to mark as current. */
  readonly current: string;
  readonly nav: readonly NavItem[];
  /** The needs-you count shown beside its nav item. */
  readonly needsYou?: number;
  readonly csrf?: string;
  readonly readOnly?: boolean;
  /** Who is logged in (the API key id behind the session). */
  readonly who?: string;
  /** Live updates: the view's topic patterns (empty: only the badge is live) and the event
   *  sequence the page was rendered at. */
  readonly live?: { readonly topics: string; readonly since: number; readonly runId?: string };
  /** A banner above the content (e.g. fault injection is on). */
  readonly banner?: Html;
  readonly body: Html;
}

/** The needs-you count; assets/app.js keeps it current from the page's stream. */
const badge = (n: number): Html =>
  html` <span class="badge" id="needs-you-badge" aria-label="${n} items">${n}</span>`;

function navList(options: PageOptions): Html {
  return html`<ul>
    ${options.nav.map(
      (item) =>
        html`<li>
          <a href="${item.href}" ${raw(item.href === options.current ? 'aria-current="page"' : '')}
            >${item.label}${
              item.href === '/ui' && options.needsYou !== undefined ? badge(options.needsYou) : ''
            }</a
          >
        </li>`,
    )}
  </ul>`;
}

export function page(options: PageOptions): Html {
  const live = options.live;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} · Strata</title>
        <link rel="stylesheet" href="${asset('app.css')}" />
        <meta
          name="htmx-config"
          content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"attributesToSettle":["class","width","height"]}'
        />
        ${options.csrf ? html`<meta name="csrf-token" content="${options.csrf}" />` : ''}
        <script src="${asset('htmx.min.js')}" defer></script>
        <script src="${asset('app.js')}" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Strata</span>
          ${options.nav.length > 0 ? html`<nav aria-label="Main">${navList(options)}</nav>` : ''}
          <span class="session">
            ${
              live
                ? html`<span id="live" class="live" role="status" data-state="connecting">connecting</span>`
                : ''
            }
            ${
              options.who
                ? html`<span class="who">${options.who}${options.readOnly ? ' (read-only)' : ''}</span>
                    <form method="post" action="/ui/logout" class="inline">
                      <input type="hidden" name="_csrf" value="${options.csrf ?? ''}" />
                      <button type="submit">Log out</button>
                    </form>`
                : ''
            }
          </span>
        </header>
        ${options.banner ? html`<div class="banner" role="alert">${options.banner}</div>` : ''}
        <main id="main" tabindex="-1">
          <h1>${options.title}</h1>
          <div
            id="view"
            ${
              live
                ? html`data-topics="${live.topics}" data-since="${live.since}"
                  ${options.needsYou === undefined ? '' : html`data-badge-topics="${NEEDS_YOU_TOPICS}"`}
                  ${live.runId ? html`data-run="${live.runId}"` : ''}`
                : ''
            }
          >
            ${options.body}
          </div>
        </main>
      </body>
    </html>`;
}

/** A notice inside a view (a refused read, an empty list, an error message). */
export const notice = (kind: 'info' | 'error', text: string | Html): Html =>
  html`<p class="notice ${kind}" ${raw(kind === 'error' ? 'role="alert"' : '')}>${text}</p>`;

/** Milliseconds as a short human duration: 950 ms, 12 s, 4 min, 3 h, 2 d. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** An ISO timestamp in a <time> element (machine-readable, shown in UTC). */
export const time = (ms: number): Html =>
  html`<time datetime="${new Date(ms).toISOString()}"
    >${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)}</time
  >`;
