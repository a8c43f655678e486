/**
 * @module web/views/runs
 * Runs: the filtered, paged list (`runs.list`, keyset paging, so page 200 of 10,000 runs costs what
 * page 1 does), and bulk cancel / retry by filter. A bulk action is previewed first (`runs.count`)
 * and confirmed with the count the operator saw; `runs.bulk` refuses it with E_CONFLICT if the
 * matching set changed meanwhile, so nobody cancels 900 runs after reading "12".
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { coerceError, type Kernel } from '../../kernel/index.ts';
import type { Run } from '../../orchestration/index.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, errorNotice, render, type DashboardContext } from '../render.ts';
import { requireCsrf, type DashboardEnv } from '../session.ts';
import { field, flash, runLink, statusCell, usd } from './common.ts';
import { dataTable } from './table.ts';
import { filterForm, filterFromQuery, queryOf, type RunFilterInput } from './run-filter.ts';

const PAGE_SIZE = 50;

function runRows(runs: readonly Run[]): Html {
  return dataTable(
    ['Run', 'Workflow', 'Status', 'Error', { num: 'Attempt' }, { num: 'Cost' }, 'Created'],
    runs.map(
      (r) =>
        html`<tr>
          <td>${runLink(r.id)}</td>
          <td>${r.workflow}</td>
          <td>${statusCell(r.status)}</td>
          <td>${r.error ? html`<code>${r.error.code}</code>` : ''}</td>
          <td class="num">${r.attempt}</td>
          <td class="num">${usd(r.costMicros)}</td>
          <td>${time(r.createdAt)}</td>
        </tr>`,
    ),
  );
}

function bulkForm(c: DashboardContext, filter: RunFilterInput): Html {
  if (c.get('readOnly')) return html``;
  return html`<form
    method="get"
    action="/ui/runs/bulk"
    class="filters"
    aria-label="Bulk action on these runs"
  >
    ${Object.entries(filter).flatMap(([k, v]) =>
      [v].flat().map((one) => html`<input type="hidden" name="${k}" value="${String(one)}" />`),
    )}
    <label for="bulk-action"
      >Bulk action on every run matching the filter
      <select id="bulk-action" name="action">
        <option value="cancel">cancel</option>
        <option value="retry">retry</option>
      </select>
    </label>
    <button type="submit">Preview</button>
  </form>`;
}

async function listBody(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const url = new URL(c.req.url);
  const filter = filterFromQuery(url);
  const after = url.searchParams.get('after');
  let page: { runs: Run[]; next?: string };
  try {
    page = await callAs(c, kernel, 'runs.list', { ...filter, limit: PAGE_SIZE, ...(after ? { after } : {}) });
  } catch (error) {
    if (coerceError(error).httpStatus === 400) c.set('viewStatus', 400);
    return html`${filterForm(url)}${errorNotice(error)}`;
  }
  return html`${flash((n) => c.req.query(n))}${filterForm(url)}
    ${page.runs.length === 0 ? notice('info', 'No run matches.') : runRows(page.runs)}
    <nav class="pager" aria-label="Pages">
      ${after ? html`<a href="/ui/runs${queryOf(filter)}">First page</a>` : ''}
      ${page.next ? html`<a href="/ui/runs${queryOf(filter, { after: page.next })}" rel="next">Next page</a>` : ''}
    </nav>
    ${bulkForm(c, filter)}`;
}

async function previewBody(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const url = new URL(c.req.url);
  const filter = filterFromQuery(url);
  const action = url.searchParams.get('action') === 'retry' ? 'retry' : 'cancel';
  const count = await callAs<{ count: number; capped: boolean }>(c, kernel, 'runs.count', filter);
  const described =
    Object.keys(filter).length === 0 ? 'every run' : `runs matching ${JSON.stringify(filter)}`;
  return html`<p>
      This will <strong>${action}</strong>
      <strong id="bulk-count">${count.count}${count.capped ? '+' : ''}</strong> ${described} (at most 1,000
      per confirmation; runs that cannot be ${action === 'cancel' ? 'cancelled' : 'retried'} are skipped and
      listed).
    </p>
    <form method="post" action="/ui/runs/bulk" class="inline">
      <input type="hidden" name="_csrf" value="${c.get('csrf')}" />
      <input type="hidden" name="action" value="${action}" />
      <input type="hidden" name="filter" value="${JSON.stringify(filter)}" />
      <input type="hidden" name="expect" value="${count.count}" />
      <button type="submit" class="danger">
        ${action === 'cancel' ? 'Cancel' : 'Retry'} ${count.count} runs
      </button>
    </form>
    <a href="/ui/runs${queryOf(filter)}">Back to the list</a>`;
}

export function runsView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/runs', (c) =>
    render(c, kernel, {
      title: 'Runs',
      current: '/ui/runs',
      topics: 'run:*',
      body: () => listBody(c, kernel),
    }),
  );
  app.get('/runs/bulk', (c) =>
    render(c, kernel, {
      title: 'Bulk action: preview',
      current: '/ui/runs',
      body: () => previewBody(c, kernel),
    }),
  );
  app.post('/runs/bulk', requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    let filter: RunFilterInput = {};
    try {
      filter = JSON.parse(field(form, 'filter', '{}')) as RunFilterInput;
      const result = await callAs<{
        done: string[];
        skipped: { id: string; code: string }[];
        remaining: number;
      }>(c, kernel, 'runs.bulk', {
        action: form['action'],
        filter,
        expect: Number(form['expect']),
      });
      const skipped = result.skipped.length > 0 ? `; ${result.skipped.length} skipped` : '';
      const left = result.remaining > 0 ? `; ${result.remaining} more match: preview again` : '';
      const done = `${field(form, 'action')}: ${result.done.length} runs${skipped}${left}`;
      return c.redirect(`/ui/runs${queryOf(filter, { done })}`, 303);
    } catch (error) {
      const e = coerceError(error);
      return c.redirect(`/ui/runs${queryOf(filter, { error: `${e.code}: ${e.message}` })}`, 303);
    }
  });
}
