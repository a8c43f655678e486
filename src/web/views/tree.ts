/**
 * @module web/views/tree
 * The Supervision tree view: `fleet.tree` (the tenant's running root supervisors, or one tree with
 * `?run=<id>`) as nested lists, each node with its child id, run, workflow, status, strategy,
 * incarnation, restarts and error code — the lines `strata fleet tree` prints. Live on `run:*`.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { coerceError, type Kernel } from '../../kernel/index.ts';
import type { TreeNode } from '../../orchestration/supervision/tree.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, errorNotice, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { runLink, statusCell } from './common.ts';

function node(n: TreeNode): Html {
  return html`<li data-run="${n.runId}">
    <strong>${n.childId ?? 'root'}</strong> ${runLink(n.runId)} ${n.workflow} ${statusCell(n.status)}
    ${n.strategy ? html`<span class="muted">strategy</span> ${n.strategy}` : ''}
    ${n.incarnation === undefined ? '' : html`<span class="muted">incarnation</span> ${n.incarnation}`}
    ${n.restarts ? html`<span class="muted">restarts</span> ${n.restarts}` : ''}
    ${n.error ? html`<span class="muted">error</span> <code title="${n.error.message}">${n.error.code}</code>` : ''}
    ${
      n.children.length === 0
        ? ''
        : html`<ul>
            ${n.children.map(node)}
          </ul>`
    }
  </li>`;
}

async function body(c: DashboardContext, kernel: Kernel, runId: string | undefined): Promise<Html> {
  let trees: TreeNode[];
  try {
    ({ trees } = await callAs<{ trees: TreeNode[] }>(c, kernel, 'fleet.tree', runId ? { runId } : {}));
  } catch (error) {
    const status = coerceError(error).httpStatus;
    if (status === 404 || status === 400) c.set('viewStatus', status);
    return errorNotice(error);
  }
  if (trees.length === 0) return notice('info', 'No supervisor is running.');
  return html`${runId === undefined ? '' : html`<p><a href="/ui/tree">Every running supervisor</a></p>`}
  ${trees.map(
    (t) =>
      html`<section class="tree" aria-label="Supervisor ${t.runId}">
        <h2>${t.workflow} <code>${t.runId}</code></h2>
        <ul>
          ${node(t)}
        </ul>
      </section>`,
  )}`;
}

export function treeView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/tree', (c) => {
    const run = c.req.query('run');
    const runId = run === undefined || run === '' ? undefined : run;
    return render(c, kernel, {
      title: 'Supervision tree',
      current: '/ui/tree',
      topics: 'run:*',
      body: () => body(c, kernel, runId),
      ...(runId === undefined ? {} : { runId }),
    });
  });
}
