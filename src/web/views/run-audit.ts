/**
 * @module web/views/run-audit
 * The Run detail's Audit section: the newest entries of the run's audit (`kernel.audit.list` by
 * `runId`: the calls the run made, and the actions taken on it from outside — start, signal,
 * cancel, retry, approval decisions), shown oldest of them first so it reads like the timeline
 * above it, capped, with a link to the Audit view filtered by the run (and by its tree for a root).
 *
 * Only when, who, what and how it ended: never an entry's input (already redacted by the kernel;
 * the Audit view shows it folded), so nothing a call carried reaches this page.
 */
import { html } from 'hono/html';
import type { AuditEntry, Kernel } from '../../kernel/index.ts';
import type { Run } from '../../orchestration/index.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, errorNotice, type DashboardContext } from '../render.ts';
import { outcomeCell } from './audit.ts';
import { dataTable } from './table.ts';

/** Entries shown; the Audit view has them all. */
export const RUN_AUDIT_ROWS = 25;

function links(run: Run, withTree: boolean): Html {
  const id = encodeURIComponent(run.id);
  return html`<p>
    <a href="/ui/audit?run=${id}">All of this run's audit entries</a>
    ${withTree ? html` · <a href="/ui/audit?root=${id}">with its descendants'</a>` : ''}
  </p>`;
}

export async function runAuditSection(
  c: DashboardContext,
  kernel: Kernel,
  run: Run,
  /** Whether the run has children: its tree's link is offered when it is their root. */
  hasChildren: boolean,
): Promise<Html> {
  const heading = html`<h2>Audit</h2>`;
  let page: { entries: AuditEntry[]; next?: number };
  try {
    page = await callAs(c, kernel, 'kernel.audit.list', {
      runId: run.id,
      order: 'desc',
      limit: RUN_AUDIT_ROWS,
    });
  } catch (error) {
    return html`${heading}${errorNotice(error)}`; // e.g. a session without kernel.audit.list
  }
  const withTree = hasChildren && run.rootId === run.id;
  if (page.entries.length === 0)
    return html`${heading}${notice('info', 'No audit entry names this run yet.')}${links(run, withTree)}`;
  const newestLast = [...page.entries].reverse();
  const shown =
    page.next === undefined
      ? `${newestLast.length} audit entries`
      : `the newest ${newestLast.length} audit entries (more in the Audit view)`;
  return html`${heading}
  ${dataTable(
    ['Time', 'Principal', 'Syscall', 'Outcome'],
    newestLast.map(
      (e) =>
        html`<tr data-seq="${e.seq}">
          <td>${time(e.ts)}</td>
          <td><code>${e.principalId}</code></td>
          <td><code>${e.action}</code></td>
          ${outcomeCell(e)}
        </tr>`,
    ),
    shown,
  )}
  ${links(run, withTree)}`;
}
