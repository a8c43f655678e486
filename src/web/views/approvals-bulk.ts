/**
 * @module web/views/approvals-bulk
 * Bulk approve: the operator ticks pending approvals on the Approvals view, previews how many are
 * still pending (`approvals.get` each), and approves them with one reason. Each is
 * `approvals.decide` as the operator, so each decision is checked against its approvers, signed and
 * audited as if decided alone. Like the runs' bulk action, the confirmation carries the count the
 * operator saw: if fewer (or more) of the selected approvals are pending when it arrives, nothing is
 * decided and the page says E_CONFLICT, so nobody approves on the strength of a stale preview. One
 * decided by someone else between that check and its turn is skipped and listed, not overwritten.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { coerceError, isStrataError, StrataError, type Kernel } from '../../kernel/index.ts';
import type { Approval } from '../../orchestration/approvals/approval-row.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import { requireCsrf, type DashboardEnv } from '../session.ts';
import { field, runLink } from './common.ts';
import { dataTable } from './table.ts';

/** As many as the Approvals view lists as pending. */
export const BULK_APPROVE_MAX = 200;
const ID = /^[A-Za-z0-9_-]{1,100}$/;

/** Selected ids, deduplicated; E_INVALID_INPUT for none, too many, or a malformed one. */
function selectedIds(values: readonly string[]): string[] {
  const ids = [...new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()))].filter(Boolean);
  if (ids.length === 0 || ids.length > BULK_APPROVE_MAX || !ids.every((id) => ID.test(id)))
    throw new StrataError('E_INVALID_INPUT', `select between 1 and ${BULK_APPROVE_MAX} pending approvals`);
  return ids;
}

/** The selected approvals that are still pending (one missing or hidden from the grants is not). */
async function stillPending(
  c: DashboardContext,
  kernel: Kernel,
  ids: readonly string[],
): Promise<Approval[]> {
  const read = await Promise.all(
    ids.map((id) => callAs<Approval>(c, kernel, 'approvals.get', { id }).catch(() => undefined)),
  );
  return read.filter((a): a is Approval => a?.status === 'pending');
}

async function previewBody(c: DashboardContext, kernel: Kernel): Promise<Html> {
  let ids: string[];
  try {
    ids = selectedIds(c.req.queries('id') ?? []);
  } catch (error) {
    c.set('viewStatus', 400);
    throw error;
  }
  const pending = await stillPending(c, kernel, ids);
  const gone = ids.length - pending.length;
  return html`<p>
      This will <strong>approve</strong> <strong id="bulk-count">${pending.length}</strong> pending approvals
      as <code>${c.get('principal').id}</code>, each signed and audited as its own
      decision${
        gone > 0
          ? html` (${gone} of the ${ids.length} selected ${gone === 1 ? 'is' : 'are'} no longer pending)`
          : ''
      }.
    </p>
    ${dataTable(
      ['Question', 'Run'],
      pending.map(
        (a) =>
          html`<tr data-approval="${a.id}">
            <td>${a.question}</td>
            <td>${runLink(a.runId)}</td>
          </tr>`,
      ),
    )}
    ${
      pending.length === 0 || c.get('readOnly')
        ? notice('info', 'Nothing to approve.')
        : html`<form
            method="post"
            action="/ui/approvals/bulk"
            class="filters"
            aria-label="Approve the selected"
          >
            <input type="hidden" name="_csrf" value="${c.get('csrf')}" />
            <input type="hidden" name="ids" value="${pending.map((a) => a.id).join(',')}" />
            <input type="hidden" name="expect" value="${pending.length}" />
            <label for="bulk-reason">Reason (signed into each decision)</label>
            <input id="bulk-reason" name="reason" maxlength="4000" size="40" required />
            <button type="submit" class="primary">Approve ${pending.length} approvals</button>
          </form>`
    }
    <a href="/ui/approvals">Back to the approvals</a>`;
}

/** Decides each as the operator; refused whole with E_CONFLICT if the pending count moved. */
async function approveAll(
  c: DashboardContext,
  kernel: Kernel,
  form: Record<string, unknown>,
): Promise<string> {
  const ids = selectedIds([field(form, 'ids')]);
  const expect = Number(field(form, 'expect'));
  const reason = field(form, 'reason').trim();
  if (reason === '') throw new StrataError('E_INVALID_INPUT', 'a bulk approval needs a reason');
  const pending = await stillPending(c, kernel, ids);
  if (pending.length !== expect)
    throw new StrataError(
      'E_CONFLICT',
      `${pending.length} of the selected approvals are pending now, not ${expect}: preview again before approving`,
    );
  const done: string[] = [];
  const skipped: string[] = [];
  for (const approval of pending) {
    try {
      await callAs(c, kernel, 'approvals.decide', { id: approval.id, decision: 'approve', reason });
      done.push(approval.id);
    } catch (error) {
      if (!isStrataError(error)) throw error;
      skipped.push(`${approval.id} (${error.code})`);
    }
  }
  const approved = `approved ${done.length} approval${done.length === 1 ? '' : 's'}`;
  return `${approved}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}`;
}

export function bulkApproveRoutes(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/approvals/bulk', (c) =>
    render(c, kernel, {
      title: 'Bulk approve: preview',
      current: '/ui/approvals',
      body: () => previewBody(c, kernel),
    }),
  );
  app.post('/approvals/bulk', requireCsrf(), async (c) => {
    try {
      const done = await approveAll(c, kernel, await c.req.parseBody());
      return c.redirect(`/ui/approvals?done=${encodeURIComponent(done)}`, 303);
    } catch (error) {
      const e = coerceError(error);
      return c.redirect(`/ui/approvals?error=${encodeURIComponent(`${e.code}: ${e.message}`)}`, 303);
    }
  });
}

/** The select box of a pending row; it belongs to the bulk form below the table (`form=`). */
export const bulkSelect = (approval: Approval): Html =>
  html`<input
    type="checkbox"
    name="id"
    value="${approval.id}"
    form="bulk-approve"
    data-keep
    aria-label="Select: ${approval.question}"
  />`;

/** Previews the selected pending approvals (a GET: nothing is decided before the confirmation). */
export const bulkApproveForm = (): Html =>
  html`<form
    id="bulk-approve"
    method="get"
    action="/ui/approvals/bulk"
    class="filters"
    aria-label="Bulk approve"
  >
    <button type="submit">Preview approving the selected</button>
  </form>`;
