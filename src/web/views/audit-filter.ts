/**
 * @module web/views/audit-filter
 * The Audit view's filter, kept in the URL like the runs filter: query parameters map one to one
 * onto `kernel.audit.list`'s filter (syscall name prefix, outcome, principal, time window, and the
 * run: `run` for one run's entries, `root` for every run of a tree). Nothing is validated here: a
 * value the kernel cannot take (a malformed run id) comes back as E_INVALID_INPUT naming the field.
 */
import { html, raw } from 'hono/html';
import type { Html } from '../layout.ts';
import { queryOf, timeOf } from './run-filter.ts';

export type AuditFilter = Record<string, string | number>;

const OUTCOMES = ['ok', 'denied', 'error'] as const;
/** The URL's name of each filter field whose name differs. */
const PARAM_OF: Readonly<Record<string, string>> = {
  principalId: 'principal',
  runId: 'run',
  rootRunId: 'root',
};

/** The kernel.audit.list filter from the URL's query (empty values ignored). */
export function auditFilterFromQuery(url: URL): AuditFilter {
  const filter: AuditFilter = {};
  const text = (name: string): string => url.searchParams.get(name)?.trim() ?? '';
  if (text('action')) filter['action'] = text('action');
  if (text('outcome')) filter['outcome'] = text('outcome');
  if (text('principal')) filter['principalId'] = text('principal');
  if (text('run')) filter['runId'] = text('run');
  if (text('root')) filter['rootRunId'] = text('root');
  if (text('since')) filter['since'] = timeOf(text('since'));
  if (text('until')) filter['until'] = timeOf(text('until'));
  return filter;
}

/** The filter back as the page's own query parameters (for paging and the export link). */
export function auditQueryOf(filter: AuditFilter, extra: Record<string, string> = {}): string {
  return queryOf(
    Object.fromEntries(Object.entries(filter).map(([name, value]) => [PARAM_OF[name] ?? name, value])),
    extra,
  );
}

export function auditFilterForm(url: URL): Html {
  const value = (name: string): string => url.searchParams.get(name) ?? '';
  return html`<form
    method="get"
    action="/ui/audit"
    class="filters"
    role="search"
    aria-label="Filter audit entries"
  >
    <label for="a-action"
      >Syscall (name prefix)<input id="a-action" name="action" value="${value('action')}" placeholder="runs."
    /></label>
    <label for="a-outcome"
      >Outcome
      <select id="a-outcome" name="outcome">
        <option value="">any</option>
        ${OUTCOMES.map(
          (o) => html`<option value="${o}" ${raw(value('outcome') === o ? 'selected' : '')}>${o}</option>`,
        )}
      </select>
    </label>
    <label for="a-principal"
      >Principal<input id="a-principal" name="principal" value="${value('principal')}"
    /></label>
    <label for="a-run"
      >Run<input id="a-run" name="run" value="${value('run')}" placeholder="run_01J…"
    /></label>
    <label for="a-root">Run tree (root run)<input id="a-root" name="root" value="${value('root')}" /></label>
    <label for="a-since"
      >From (UTC)<input id="a-since" name="since" value="${value('since')}" placeholder="2026-12-04T10:00"
    /></label>
    <label for="a-until">Until (UTC)<input id="a-until" name="until" value="${value('until')}" /></label>
    <button type="submit" class="primary">Filter</button>
    <a href="/ui/audit">Clear</a>
  </form>`;
}
