/**
 * @module web/views/costs
 * The Costs view: spend of the tenant from `billing.cost` grouped by run tree, run, agent, model,
 * tool or tenant (`?by=`, one report per page so a re-render costs one query), with the part spent
 * on failed or discarded work (waste) apart and the cost per completed task; then every budget
 * (`billing.budgets.list`) with what its period has spent, what is reserved (held by calls in
 * flight) and what is left, spent against the limit as a `<meter>`. Live on `run:*`.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import type { CostReport } from '../../orchestration/finops/cost-report.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, errorNotice, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { runLink, statusCell } from './common.ts';
import { spendMeter } from './spend-meter.ts';
import { dataTable } from './table.ts';

const GROUPS = [
  ['tree', 'Run tree'],
  ['run', 'Run'],
  ['agent', 'Agent'],
  ['tenant', 'Tenant'],
  ['model', 'Model'],
  ['tool', 'Tool'],
] as const;
type Group = (typeof GROUPS)[number][0];
const TOP = 50;

interface BudgetRow {
  readonly id: string;
  readonly scope: string;
  readonly subject: string;
  readonly period: string;
  readonly periodKey: string;
  readonly currency: string;
  readonly limit: string;
  readonly mode: string;
  readonly spent: string;
  readonly held: string;
  readonly available: string;
}

function groupPicker(by: Group): Html {
  return html`<nav aria-label="Group spend by" class="pager">
    ${GROUPS.map(([key, label]) =>
      key === by
        ? html`<strong aria-current="page">${label}</strong>`
        : html`<a href="/ui/costs?by=${key}">${label}</a>`,
    )}
  </nav>`;
}

function keyCell(by: Group, key: string, workflow?: string, status?: string): Html {
  if ((by === 'tree' || by === 'run') && key.startsWith('run_'))
    return html`${runLink(key)}${workflow ? ` ${workflow}` : ''} ${status ? statusCell(status) : ''}`;
  if ((by === 'tree' || by === 'run') && key === '-') return html`<span class="muted">outside any run</span>`;
  return html`<code>${key}</code>`;
}

function reportTable(by: Group, label: string, r: CostReport): Html {
  if (r.groups.length === 0) return notice('info', 'Nothing spent yet.');
  return html`${dataTable(
    [label, { num: 'Total' }, { num: 'Committed' }, { num: 'Waste' }, { num: 'Calls' }],
    r.groups.map(
      (g) =>
        html`<tr data-group="${g.key}">
          <td>${keyCell(by, g.key, g.workflow, g.status)}</td>
          <td class="num">${g.total}</td>
          <td class="num">${g.committed}</td>
          <td class="num">${g.waste}</td>
          <td class="num">${g.calls}</td>
        </tr>`,
    ),
  )}
  ${r.omitted > 0 ? html`<p class="muted">${r.omitted} smaller groups not shown.</p>` : ''}`;
}

function budgetsTable(budgets: readonly BudgetRow[]): Html {
  if (budgets.length === 0) return notice('info', 'No budget is set (billing.budgets.set).');
  return dataTable(
    ['Budget', 'Period', 'Mode', 'Spent of limit', { num: 'Reserved' }, { num: 'Available' }],
    budgets.map(
      (b) =>
        html`<tr data-budget="${b.id}">
          <td>${b.scope}${b.subject ? html` <code>${b.subject}</code>` : ''}</td>
          <td>${b.period} <span class="muted">${b.periodKey}</span></td>
          <td>${b.mode}</td>
          <td>
            ${spendMeter(`${b.scope} ${b.subject} budget`.replace('  ', ' '), b.spent, b.limit, b.currency)}
          </td>
          <td class="num">${b.held}</td>
          <td class="num">${b.available}</td>
        </tr>`,
    ),
  );
}

async function body(c: DashboardContext, kernel: Kernel, by: Group): Promise<Html> {
  const label = GROUPS.find(([key]) => key === by)?.[1] ?? by;
  const [report, budgets] = await Promise.all([
    callAs<CostReport>(c, kernel, 'billing.cost', { groupBy: by, limit: TOP }),
    callAs<{ budgets: BudgetRow[] }>(c, kernel, 'billing.budgets.list', {}).then(
      (r) => budgetsTable(r.budgets),
      (error: unknown) => errorNotice(error),
    ),
  ]);
  const t = report.tasks;
  return html`<dl class="kv">
      <dt>Total</dt>
      <dd>${report.totals.total} ${report.currency} over ${report.totals.calls} calls</dd>
      <dt>Waste</dt>
      <dd>
        ${report.totals.waste} ${report.currency}
        ${report.waste.filter((w) => w.calls > 0).map((w) => html`<span class="muted">${w.reason.replace('_', ' ')} ${w.amount}</span> `)}
      </dd>
      <dt>Cost per completed task</dt>
      <dd>
        ${t.costPerCompletedTask === null ? 'no task completed yet' : `${t.costPerCompletedTask} ${report.currency}`}
        <span class="muted">(${t.completed} completed tasks, ${t.cost} ${report.currency})</span>
      </dd>
    </dl>
    <h2>Spend by ${label.toLowerCase()}</h2>
    ${groupPicker(by)} ${reportTable(by, label, report)}
    <h2>Budgets</h2>
    ${budgets}`;
}

export function costsView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/costs', (c) => {
    const asked = c.req.query('by') ?? 'tree';
    const by = GROUPS.find(([key]) => key === asked)?.[0];
    if (by === undefined) c.set('viewStatus', 400);
    return render(c, kernel, {
      title: 'Costs',
      current: '/ui/costs',
      topics: 'run:*',
      body: async () =>
        by === undefined
          ? html`${groupPicker('tree')}${notice('error', html`<code>E_INVALID_INPUT</code> cannot group spend by ${asked.slice(0, 40)}`)}`
          : body(c, kernel, by),
    });
  });
}
