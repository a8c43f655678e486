/**
 * @module web/views/run-filter
 * The runs view's filter, kept in the URL so a filtered list can be bookmarked and shared: query
 * parameters map one to one onto `runs.list`'s filter. Nothing is validated here: values the kernel
 * cannot take come back from it as E_INVALID_INPUT naming the field, shown above the unchanged form.
 */
import { html, raw } from 'hono/html';
import type { Html } from '../layout.ts';

const TEXT_FIELDS = ['workflow', 'agent', 'errorCode', 'supervisor', 'rootId', 'parentId', 'q'] as const;
const TIME_FIELDS = ['createdAfter', 'createdBefore'] as const;
const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'version_unavailable'];

export type RunFilterInput = Record<string, unknown>;

/** A number when the text is one; else the text, so the kernel names the field in its refusal. */
const numberOr = (text: string): number | string => (/^\d+(\.\d+)?$/.test(text) ? Number(text) : text);

/** `2026-12-04T10:30` (a datetime-local value, read as UTC) or epoch ms; else the text as given. */
export function timeOf(text: string): number | string {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? text : ms;
}

/** The runs.list filter from the URL's query (empty values ignored). */
export function filterFromQuery(url: URL): RunFilterInput {
  const filter: RunFilterInput = {};
  const statuses = url.searchParams.getAll('status').filter((s) => s !== '');
  if (statuses.length === 1) filter['status'] = statuses[0];
  else if (statuses.length > 1) filter['status'] = statuses;
  for (const field of TEXT_FIELDS) {
    const value = url.searchParams.get(field);
    if (value) filter[field] = value;
  }
  for (const field of TIME_FIELDS) {
    const value = url.searchParams.get(field);
    if (value) filter[field] = timeOf(value);
  }
  const cost = url.searchParams.get('minCostUsd');
  if (cost) filter['minCostUsd'] = numberOr(cost);
  return filter;
}

/** The same filter as query parameters (for paging links and the bulk preview). */
export function queryOf(filter: RunFilterInput, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    for (const one of [value].flat()) params.append(key, String(one));
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const FIELD_LABEL: Record<(typeof TEXT_FIELDS)[number], string> = {
  workflow: 'Workflow',
  agent: 'Agent',
  errorCode: 'Error code',
  supervisor: 'Supervisor run',
  rootId: 'Root run',
  parentId: 'Parent run',
  q: 'Search (id prefix, workflow)',
};

export function filterForm(url: URL): Html {
  const selected = new Set(url.searchParams.getAll('status'));
  const value = (name: string): string => url.searchParams.get(name) ?? '';
  return html`<form method="get" action="/ui/runs" class="filters" role="search" aria-label="Filter runs">
    <label for="f-status"
      >Status
      <select id="f-status" name="status">
        <option value="">any</option>
        ${STATUSES.map((s) => html`<option value="${s}" ${raw(selected.has(s) ? 'selected' : '')}>${s}</option>`)}
      </select>
    </label>
    ${TEXT_FIELDS.map(
      (f) =>
        html`<label for="f-${f}"
          >${FIELD_LABEL[f]}<input id="f-${f}" name="${f}" value="${value(f)}"
        /></label>`,
    )}
    <label for="f-createdAfter"
      >Created after (UTC)<input
        id="f-createdAfter"
        name="createdAfter"
        value="${value('createdAfter')}"
        placeholder="2026-12-04T10:00"
    /></label>
    <label for="f-createdBefore"
      >Created before (UTC)<input id="f-createdBefore" name="createdBefore" value="${value('createdBefore')}"
    /></label>
    <label for="f-minCostUsd"
      >Cost at least (USD)<input
        id="f-minCostUsd"
        name="minCostUsd"
        value="${value('minCostUsd')}"
        inputmode="decimal"
    /></label>
    <button type="submit" class="primary">Filter</button>
    <a href="/ui/runs">Clear</a>
  </form>`;
}
