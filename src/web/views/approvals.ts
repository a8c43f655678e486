/**
 * @module web/views/approvals
 * Approvals and escalations: what is pending (with the time left before it escalates or decides
 * itself), what was decided recently and by whom, and the decide form. A decision is
 * `approvals.decide` as the operator: signed with the tenant's key, recorded in the audit chain, and
 * refused with E_CONFLICT if someone decided first — the page then says so and changes nothing.
 * Several pending approvals can be approved at once (approvals-bulk.ts).
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { coerceError, type Kernel } from '../../kernel/index.ts';
import type { Approval } from '../../orchestration/approvals/approval-row.ts';
import type { Escalation } from '../../orchestration/escalations/escalation-row.ts';
import { duration, notice, time, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import { requireCsrf, type DashboardEnv } from '../session.ts';
import { flash, runLink, statusCell } from './common.ts';
import { dataTable } from './table.ts';
import { decideForm } from './decide-form.ts';
import { bulkApproveForm, bulkApproveRoutes, bulkSelect } from './approvals-bulk.ts';

function approvalRows(c: DashboardContext, approvals: readonly Approval[], pending: boolean): Html {
  const now = Date.now();
  // Pending rows can be ticked for a bulk approval (approvals-bulk.ts), unless the session is read-only.
  const selectable = pending && !c.get('readOnly');
  return dataTable(
    [
      ...(selectable ? ['Select'] : []),
      'Question',
      'Run',
      'Approvers',
      pending ? 'Time left' : 'Decision',
      pending ? 'Decide' : 'When',
    ],
    approvals.map(
      (a) =>
        html`<tr data-approval="${a.id}">
          ${selectable ? html`<td>${bulkSelect(a)}</td>` : ''}
          <td>${a.question}</td>
          <td>${runLink(a.runId)}</td>
          <td>${a.approvers.length === 0 ? 'anyone' : a.approvers.join(', ')}</td>
          ${
            pending
              ? html`<td>
                    ${a.timeoutAt === null ? 'no timeout' : a.timeoutAt > now ? duration(a.timeoutAt - now) : 'overdue'}
                  </td>
                  <td>${decideForm(c.get('csrf'), c.get('readOnly'), a.id, '/ui/approvals')}</td>`
              : html`<td>
                    ${statusCell(a.status)}${a.decidedBy ? html` by <code>${a.decidedBy}</code>` : ''}${a.decidedVia ? ` via ${a.decidedVia}` : ''}${a.reason ? html`: ${a.reason}` : ''}
                  </td>
                  <td>${a.decidedAt ? time(a.decidedAt) : ''}</td>`
          }
        </tr>`,
    ),
  );
}

async function body(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const [pending, all, escalations] = await Promise.all([
    callAs<{ approvals: Approval[] }>(c, kernel, 'approvals.list', { status: 'pending', limit: 200 }),
    callAs<{ approvals: Approval[] }>(c, kernel, 'approvals.list', { status: 'all', limit: 50 }),
    callAs<{ escalations: Escalation[] }>(c, kernel, 'escalations.list', {}).catch(() => ({
      escalations: [],
    })),
  ]);
  const decided = all.approvals.filter((a) => a.status !== 'pending');
  return html`${flash((n) => c.req.query(n))}
    <h2>Pending</h2>
    ${
      pending.approvals.length === 0
        ? notice('info', 'No approval is pending.')
        : html`${approvalRows(c, pending.approvals, true)}${c.get('readOnly') ? '' : bulkApproveForm()}`
    }
    <h2>Recently decided</h2>
    ${decided.length === 0 ? notice('info', 'None yet.') : approvalRows(c, decided, false)}
    <h2>Escalations</h2>
    ${
      escalations.escalations.length === 0
        ? notice('info', 'No escalation.')
        : dataTable(
            ['Severity', 'What', 'Source', 'Status', { num: 'Times' }, 'First'],
            escalations.escalations.map(
              (e) =>
                html`<tr>
                  <td>${e.severity}</td>
                  <td>${e.title}${e.detail ? html`<br /><span class="muted">${e.detail}</span>` : ''}</td>
                  <td><code>${e.source}</code></td>
                  <td>${e.status}${e.ackedBy ? html` by <code>${e.ackedBy}</code>` : ''}</td>
                  <td class="num">${e.count}</td>
                  <td>${time(e.firstAt)}</td>
                </tr>`,
            ),
          )
    }`;
}

/** Where to go back to after a decision: only a dashboard path, never an outside URL. */
export const safeBack = (value: unknown, fallback: string): string =>
  typeof value === 'string' && /^\/ui(\/[\w\-/.%]*)?$/.test(value) ? value : fallback;

export function approvalsView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/approvals', (c) =>
    render(c, kernel, {
      title: 'Approvals and escalations',
      current: '/ui/approvals',
      topics: 'approval:*,escalation:*',
      body: () => body(c, kernel),
    }),
  );
  bulkApproveRoutes(app, kernel);
  app.post('/approvals/:id/decide', requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const back = safeBack(form['back'], '/ui/approvals');
    const reason = typeof form['reason'] === 'string' && form['reason'] !== '' ? form['reason'] : undefined;
    try {
      const decided = await callAs<Approval>(c, kernel, 'approvals.decide', {
        id: c.req.param('id'),
        decision: form['decision'],
        ...(reason === undefined ? {} : { reason }),
      });
      return c.redirect(
        `${back}?done=${encodeURIComponent(`approval ${decided.id} ${decided.status}`)}`,
        303,
      );
    } catch (error) {
      const e = coerceError(error);
      return c.redirect(`${back}?error=${encodeURIComponent(`${e.code}: ${e.message}`)}`, 303);
    }
  });
}
