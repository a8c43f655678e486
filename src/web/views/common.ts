/**
 * @module web/views/common
 * Pieces several views share: run links and status cells, money, and the action buttons (a small
 * form that posts to /ui/act with the session's CSRF token; without JavaScript it still works).
 */
import { html, raw } from 'hono/html';
import type { Html } from '../layout.ts';

export const runLink = (id: string): Html =>
  html`<a href="/ui/runs/${encodeURIComponent(id)}"><code>${id}</code></a>`;

export const statusCell = (status: string): Html => html`<span class="status-${status}">${status}</span>`;

/** Micro-units of currency as dollars with enough digits for a model call. */
export const usd = (micros: number): string => `$${(micros / 1_000_000).toFixed(micros < 10_000 ? 4 : 2)}`;

export interface ActionButton {
  readonly syscall: string;
  readonly input: Record<string, unknown>;
  readonly label: string;
  readonly danger?: boolean;
  /** Asked in a confirm() first. */
  readonly confirm?: string;
}

/** One action as a form; hidden in a read-only session (the kernel would refuse it anyway). */
export function actionForm(csrf: string, readOnly: boolean, action: ActionButton, back: string): Html {
  if (readOnly) return html``;
  return html`<form
    method="post"
    action="/ui/act"
    class="inline"
    ${raw(action.confirm ? `data-confirm="${escapeAttr(action.confirm)}"` : '')}
  >
    <input type="hidden" name="_csrf" value="${csrf}" />
    <input type="hidden" name="syscall" value="${action.syscall}" />
    <input type="hidden" name="input" value="${JSON.stringify(action.input)}" />
    <input type="hidden" name="back" value="${back}" />
    <button type="submit" class="${action.danger ? 'danger' : ''}">${action.label}</button>
  </form>`;
}

const escapeAttr = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A form field as text ('' when absent or a file). */
export const field = (form: Record<string, unknown>, name: string, fallback = ''): string => {
  const value = form[name];
  return typeof value === 'string' ? value : fallback;
};

/** A flash message carried in the URL after a redirect (`?done=` / `?error=`), shown once. */
export function flash(query: (name: string) => string | undefined): Html {
  const done = query('done');
  const error = query('error');
  if (error) return html`<p class="notice error" role="alert">${error}</p>`;
  if (done) return html`<p class="notice" role="status">${done}</p>`;
  return html``;
}
