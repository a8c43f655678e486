/**
 * @module web/views/needs-you
 * The home view: only what waits on a person (`fleet.problems`), one row per thing to do, each with
 * its reason, how long it has waited (approvals: the time left before they escalate) and an action.
 * Drivers that are not healthy are rows too, linked to their layer's page. The nav badge shows the
 * same list's count, so the badge and the rows always agree; `GET /ui/needs-you/count` is how a
 * page's badge follows its stream (assets/app.js), answered once per tick for the pages of a tenant
 * (fragment-cache.ts).
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import type { Problem } from '../../orchestration/problems/types.ts';
import { duration, notice, type Html } from '../layout.ts';
import { needsYou } from '../needs-you-list.ts';
import { FragmentCache } from '../fragment-cache.ts';
import { fragments, headSeq, needsYouCount, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { actionForm, flash, runLink } from './common.ts';
import { decideForm } from './decide-form.ts';
import { LAYER_PAGES } from './layers.ts';

const KIND_LABEL: Record<Problem['kind'], string> = {
  approval: 'Approval',
  budget_pause: 'Budget pause',
  stalled_run: 'Stalled run',
  supervisor: 'Supervisor',
  escalation: 'Escalation',
  merge_change: 'Merge change',
  merge_queue_stopped: 'Merge queue stopped',
  version_unavailable: 'Version unavailable',
  driver: 'Driver',
};

/** Actions the dashboard can take in one click; the rest are shown as the call to make. */
const ONE_CLICK = new Set(['runs.cancel', 'mq.resume', 'runs.budget_pauses.resolve']);

/** A driver's layer page, where its health and what it runs are shown. */
function driverLink(item: Problem): Html {
  const layer = LAYER_PAGES.find((l) => l.slug === item.driver?.layer);
  return layer
    ? html`<a href="/ui/layers/${layer.slug}">See the ${layer.title.toLowerCase()} layer</a>`
    : html`<a href="/ui/layers">See the layers</a>`;
}

function actionCell(c: DashboardContext, item: Problem): Html {
  if (item.kind === 'driver') return driverLink(item);
  const csrf = c.get('csrf');
  const readOnly = c.get('readOnly');
  if (item.action.syscall === 'approvals.decide')
    return decideForm(csrf, readOnly, String(item.action.input['id']), '/ui');
  if (ONE_CLICK.has(item.action.syscall))
    return actionForm(
      csrf,
      readOnly,
      {
        syscall: item.action.syscall,
        input: item.action.input,
        label: item.action.syscall === 'runs.cancel' ? 'Cancel run' : item.action.syscall,
        danger: item.action.syscall === 'runs.cancel',
        confirm: `${item.action.syscall} ${JSON.stringify(item.action.input)}?`,
      },
      '/ui',
    );
  return html`<code>${item.action.syscall}</code>
    <code class="muted">${JSON.stringify(item.action.input)}</code>`;
}

function waited(item: Problem): Html {
  if (item.timeLeftMs !== undefined && item.timeLeftMs !== null)
    return html`${duration(item.ageMs)}
      <span class="muted">(${item.timeLeftMs > 0 ? `${duration(item.timeLeftMs)} left` : 'overdue'})</span>`;
  return html`${duration(item.ageMs)}`;
}

async function body(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const { problems, count } = await needsYou(c, kernel);
  if (count === 0) return html`${flash((n) => c.req.query(n))}${notice('info', 'Nothing waits on you.')}`;
  return html`${flash((n) => c.req.query(n))}
    <p>
      <span id="needs-you-count">${count}</span>
      ${count === 1 ? 'item waits' : 'items wait'} on a person.
    </p>
    ${
      problems.truncated.length > 0
        ? notice('info', `Only the first items of: ${problems.truncated.join(', ')}.`)
        : ''
    }
    <table>
      <caption class="muted">
        Oldest first within each kind
      </caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col">Reason</th>
          <th scope="col">Run</th>
          <th scope="col">Waiting</th>
          <th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        ${problems.items.map(
          (item) =>
            html`<tr data-kind="${item.kind}">
              <td>
                ${KIND_LABEL[item.kind]}${item.severity ? html` <strong>${item.severity}</strong>` : ''}
                ${item.driver ? html` <strong>${item.driver.status}</strong>` : ''}
              </td>
              <td>${item.reason}</td>
              <td>${item.runId ? runLink(item.runId) : ''}</td>
              <td>${waited(item)}</td>
              <td>${actionCell(c, item)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/**
 * `{ count }` of the needs-you list (null when the session may not read it). With `X-Strata-Seq`,
 * a count read after that event sequence may be shared by the tenant's pages (fragment-cache.ts).
 */
export function needsYouCountRoute(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/needs-you/count', async (c) => {
    const make = async () => {
      const head = await headSeq(c, kernel); // before the count: it shows every event up to head
      const count = await needsYouCount(c, kernel);
      return {
        head: head ?? 0,
        html: JSON.stringify({ count: count ?? null }),
        shareable: head !== undefined,
      };
    };
    const seq = Number(c.req.header('x-strata-seq'));
    const text =
      Number.isSafeInteger(seq) && seq >= 0
        ? await fragments.get(FragmentCache.keyOf(c.get('principal'), c.req.url), seq, make)
        : (await make()).html;
    return c.body(text ?? '{"count":null}', 200, { 'content-type': 'application/json' });
  });
}

export function needsYouView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/', (c) =>
    render(c, kernel, { title: 'Needs you', current: '/ui', topics: '*', body: () => body(c, kernel) }),
  );
}
