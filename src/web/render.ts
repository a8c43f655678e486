/**
 * @module web/render
 * Renders a view as a whole page, or as just its `#view` fragment: when a page's live stream renders
 * it again after an event (live-render.ts), or htmx fetches it. Every read goes through `kernel.call` as the session's principal, so a view shows only
 * what the operator's grants allow; a refused or failed read becomes a notice in the page, with the
 * error's stable code, instead of a broken page.
 *
 * Order matters for live pages: the tenant's event head is read before the view's data (and the nav
 * badge's count), so every change committed after they were read has a larger sequence and reaches
 * the page's stream. Every page with the badge is live for the badge's sake (live-view.ts), even
 * when its view is static.
 */
import type { Context } from 'hono';
import { html } from 'hono/html';
import { coerceError, type Kernel } from '../kernel/index.ts';
import { compactHtml } from './compact-html.ts';
import { notice, page, type Html } from './layout.ts';
import { FragmentCache } from './fragment-cache.ts';
import { NAV } from './nav.ts';
import { needsYou } from './needs-you-list.ts';
import type { DashboardEnv } from './session.ts';

export type DashboardContext = Context<DashboardEnv>;

export interface RenderOptions {
  readonly title: string;
  /** The nav item this view belongs to. */
  readonly current: string;
  /** Topic patterns that re-render the view (comma-separated); none: a static page. */
  readonly topics?: string;
  /** Only events about this run (or its children) re-render the view. */
  readonly runId?: string;
  readonly body: () => Promise<Html>;
  /** @default 200 */
  readonly status?: 200 | 404 | 400;
}

/** Calls a syscall as the session's principal; quietly in a live stream's own render. */
export function callAs<T = unknown>(
  c: DashboardContext,
  kernel: Kernel,
  name: string,
  input: unknown,
): Promise<T> {
  return kernel.call<T>(name, input, { principal: c.get('principal'), quiet: c.get('liveRender') === true });
}

/** The fields of an E_INVALID_INPUT and what is wrong with each (the pipeline scrubs secrets). */
const invalidFields = (data: unknown): string => {
  const issues = (data as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return '';
  const named = (issues as { path?: string; message?: string }[])
    .slice(0, 5)
    .map((i) => `${i.path || 'input'}: ${i.message ?? 'invalid'}`);
  return named.length ? ` (${named.join('; ')})` : '';
};

/** A failure as a notice: the code and the message the kernel chose to show (never a secret). */
export const errorNotice = (error: unknown): Html => {
  const e = coerceError(error);
  const message =
    e.httpStatus >= 500
      ? 'the read failed; see the server log'
      : `${e.message}${e.httpStatus === 400 ? invalidFields(e.data) : ''}`;
  return notice('error', html`<code>${e.code}</code> ${message}`);
};

/** The tenant's event head, or undefined when the session may not read events. */
export async function headSeq(c: DashboardContext, kernel: Kernel): Promise<number | undefined> {
  try {
    const read = await callAs<{ head: number }>(c, kernel, 'kernel.events.read', {});
    return read.head;
  } catch {
    return undefined; // no grant for events: the page is simply not live
  }
}

/** The nav badge's count: the needs-you view's rows (the same call, the same limit). */
export async function needsYouCount(c: DashboardContext, kernel: Kernel): Promise<number | undefined> {
  try {
    return (await needsYou(c, kernel)).count;
  } catch {
    return undefined;
  }
}

async function bodyOf(c: DashboardContext, kernel: Kernel, options: RenderOptions): Promise<Html> {
  try {
    return await options.body();
  } catch (error) {
    if (coerceError(error).httpStatus >= 500)
      kernel.logger.error({ err: error, path: c.req.path }, 'dashboard view failed');
    return errorNotice(error);
  }
}

/** How a fragment answer wraps the view's HTML (live-render.ts unwraps it). */
export const VIEW_OPEN = '<div id="view">';
export const VIEW_CLOSE = '</div>';

/** Shared by every dashboard of this process; its `stats` are read by bench/dashboard.ts. */
export const fragments = new FragmentCache();

/** A live render: `X-Strata-Seq` names the last event the page's stream has read (see fragment-cache.ts). */
async function liveFragment(c: DashboardContext, kernel: Kernel, options: RenderOptions, seq: number) {
  const key = FragmentCache.keyOf(c.get('principal'), c.req.url);
  const csrf = c.get('csrf');
  const text = await fragments.get(key, seq, async () => {
    // The forms of a live render carry an empty CSRF field, which the page fills in from its meta
    // tag after the swap (assets/app.js): the render holds nothing of the session, so the tenant's
    // pages on this view can share it. A full page (no script needed) carries the token itself.
    c.set('csrf', '');
    const head = await headSeq(c, kernel);
    const html = compactHtml(String(await bodyOf(c, kernel, options)));
    c.set('csrf', csrf);
    const status = options.status ?? c.get('viewStatus') ?? 200;
    // Only a plain answer is shared, and never one that holds the session's token after all.
    const shareable = head !== undefined && status === 200 && !html.includes(csrf);
    return { head: head ?? 0, html, shareable };
  });
  return c.html(`${VIEW_OPEN}${text ?? ''}${VIEW_CLOSE}`, options.status ?? c.get('viewStatus') ?? 200);
}

export async function render(c: DashboardContext, kernel: Kernel, options: RenderOptions): Promise<Response> {
  // A fragment needs no sequence of its own: the page's stream keeps its own cursor.
  const fragment = c.req.header('hx-request') === 'true';
  const seq = Number(c.req.header('x-strata-seq'));
  if (fragment && options.topics !== undefined && Number.isSafeInteger(seq) && seq >= 0)
    return liveFragment(c, kernel, options, seq);
  const since = fragment ? undefined : await headSeq(c, kernel);
  const body = await bodyOf(c, kernel, options);
  const status = options.status ?? c.get('viewStatus') ?? 200;
  if (fragment) return c.html(html`<div id="view">${body}</div>`, status);
  const principal = c.get('principal');
  const badge = await needsYouCount(c, kernel);
  // A static view with the badge still streams, for the badge; its view topics are empty.
  const live = since !== undefined && (options.topics !== undefined || badge !== undefined);
  return c.html(
    page({
      title: options.title,
      current: options.current,
      nav: NAV,
      needsYou: badge,
      csrf: c.get('csrf'),
      readOnly: c.get('readOnly'),
      who: principal.id,
      ...(live
        ? {
            live: { topics: options.topics ?? '', since, ...(options.runId ? { runId: options.runId } : {}) },
          }
        : {}),
      ...(c.get('banner') ? { banner: c.get('banner') } : {}),
      body,
    }),
    status,
  );
}
