/**
 * @module web/views/decide-form
 * The approve / reject form of an approval: a reason is asked for (it is signed into the decision),
 * and the decision is `approvals.decide` as the operator, so the first decision wins and a second one
 * gets E_CONFLICT, shown as a message with nothing changed.
 */
import { html } from 'hono/html';
import type { Html } from '../layout.ts';

export function decideForm(csrf: string, readOnly: boolean, approvalId: string, back: string): Html {
  if (readOnly) return html`<span class="muted">read-only</span>`;
  const field = `reason-${approvalId}`;
  return html`<form
    method="post"
    action="/ui/approvals/${encodeURIComponent(approvalId)}/decide"
    class="inline decide"
  >
    <input type="hidden" name="_csrf" value="${csrf}" />
    <input type="hidden" name="back" value="${back}" />
    <label for="${field}" class="muted">Reason</label>
    <input id="${field}" name="reason" maxlength="4000" size="16" />
    <button type="submit" name="decision" value="approve" class="primary">Approve</button>
    <button type="submit" name="decision" value="reject" class="danger">Reject</button>
  </form>`;
}
