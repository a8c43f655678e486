/**
 * @module web/views/run-detail
 * One run: its state, cost and error; the timeline of its journal (steps, syscalls, timers, signals,
 * children) with attempts and durations, compact by default (outputs folded away, the noise of a
 * long history) or full, and downloadable as JSON; its child runs; its approvals; its audit entries
 * (run-audit.ts); and the actions
 * cancel, retry, signal and approve, each a syscall as the operator. Live: events about this run or
 * its children re-render it.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { coerceError, layerOf, type Kernel } from '../../kernel/index.ts';
import type { Run } from '../../orchestration/index.ts';
import type { Approval } from '../../orchestration/approvals/approval-row.ts';
import type { TimelineEntry } from '../../orchestration/timeline.ts';
import { duration, notice, time, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import { requireCsrf, type DashboardEnv } from '../session.ts';
import { actionForm, field, flash, runLink, statusCell, usd } from './common.ts';
import { dataTable } from './table.ts';
import { decideForm } from './decide-form.ts';
import { runAuditSection } from './run-audit.ts';

type Journal = { run: Run; entries: TimelineEntry[] };
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

function summary(run: Run): Html {
  return html`<dl class="kv">
    <dt>Status</dt>
    <dd>
      ${statusCell(run.status)}${run.cancelRequested && !TERMINAL.has(run.status) ? ' (cancel requested)' : ''}
    </dd>
    <dt>Workflow</dt>
    <dd>${run.workflow} v${run.version}</dd>
    <dt>Attempt</dt>
    <dd>${run.attempt} of ${run.maxAttempts}</dd>
    <dt>Cost</dt>
    <dd>${usd(run.costMicros)}</dd>
    <dt>Parent</dt>
    <dd>${run.parentId ? runLink(run.parentId) : 'none'}</dd>
    <dt>Root</dt>
    <dd>${run.rootId === run.id ? 'this run' : runLink(run.rootId)}</dd>
    <dt>Created</dt>
    <dd>${time(run.createdAt)}</dd>
    <dt>Finished</dt>
    <dd>${run.finishedAt ? time(run.finishedAt) : 'not yet'}</dd>
    ${
      run.error
        ? html`<dt>Error</dt>
            <dd><code>${run.error.code}</code> ${run.error.message}</dd>`
        : ''
    }
  </dl>`;
}

/** A syscall's layer (kernel/chaos's mapping); steps, timers, signals and children are the engine's. */
const layerOfEntry = (e: TimelineEntry): string => (e.kind === 'syscall' ? layerOf(e.name) : 'orchestration');

/** Links that keep one layer's entries: a long history's noise hidden. */
function layerLinks(self: string, entries: readonly TimelineEntry[], current: string | undefined): Html {
  const layers = [...new Set(entries.map(layerOfEntry))].sort();
  if (layers.length < 2) return html``;
  return html`<p>
    Layer: ${current === undefined ? html`<strong>all</strong>` : html`<a href="${self}">all</a>`}
    ${layers.map((l) =>
      l === current
        ? html` · <strong>${l}</strong>`
        : html` · <a href="${self}?layer=${encodeURIComponent(l)}">${l}</a>`,
    )}
  </p>`;
}

function timeline(entries: readonly TimelineEntry[], full: boolean): Html {
  if (entries.length === 0)
    return notice('info', 'The journal is empty: the run has not started a step yet.');
  return dataTable(
    [{ num: '#' }, 'Layer', 'Kind', 'Name', 'Status', { num: 'Attempts' }, { num: 'Took' }, 'Detail'],
    entries.map(
      (e) =>
        html`<tr>
          <td class="num">${e.seq}</td>
          <td>${layerOfEntry(e)}</td>
          <td>${e.kind}</td>
          <td><code>${e.name}</code></td>
          <td
            class="status-${e.status === 'error' ? 'failed' : e.status === 'pending' ? 'waiting' : 'completed'}"
          >
            ${e.status}
          </td>
          <td class="num">${e.attempts}</td>
          <td class="num">${e.durationMs === null ? '' : duration(e.durationMs)}</td>
          <td>
            ${e.error ? html`<code>${e.error.code}</code> ${e.error.message}` : ''}
            ${e.status === 'pending' && e.wakeAt ? html`wakes ${time(e.wakeAt)}` : ''}
            ${full && e.output !== undefined ? html`<pre>${JSON.stringify(e.output, null, 2)}</pre>` : ''}
          </td>
        </tr>`,
    ),
    `${entries.length} journal entries`,
  );
}

function actions(c: DashboardContext, run: Run): Html {
  const csrf = c.get('csrf');
  const readOnly = c.get('readOnly');
  if (readOnly) return html``;
  const back = `/ui/runs/${encodeURIComponent(run.id)}`;
  return html`<h2>Actions</h2>
    <p>
      ${
        TERMINAL.has(run.status)
          ? ''
          : actionForm(
              csrf,
              readOnly,
              {
                syscall: 'runs.cancel',
                input: { runId: run.id },
                label: 'Cancel',
                danger: true,
                confirm: 'Cancel this run and its children?',
              },
              back,
            )
      }
      ${
        run.status === 'failed' || run.status === 'cancelled'
          ? actionForm(
              csrf,
              readOnly,
              { syscall: 'runs.retry', input: { runId: run.id }, label: 'Retry' },
              back,
            )
          : ''
      }
    </p>
    ${
      TERMINAL.has(run.status)
        ? ''
        : html`<form
            method="post"
            action="/ui/runs/${encodeURIComponent(run.id)}/signal"
            class="filters"
            aria-label="Send a signal"
          >
            <input type="hidden" name="_csrf" value="${csrf}" />
            <label for="signal-name"
              >Signal name<input id="signal-name" name="name" required maxlength="200"
            /></label>
            <label for="signal-payload"
              >Payload (JSON)<input id="signal-payload" name="payload" value="null"
            /></label>
            <button type="submit">Send signal</button>
          </form>`
    }`;
}

/** The model output of a run still going, streamed into the page (assets/app.js); `hx-preserve`
 *  keeps it, and its stream, across the live re-renders of the rest of the view. */
const liveOutput = (run: Run): Html =>
  TERMINAL.has(run.status)
    ? html``
    : html`<h2 id="output-heading">Live output</h2>
        <pre
          id="run-output"
          hx-preserve="true"
          aria-labelledby="output-heading"
          aria-live="polite"
          data-stream="/ui/runs/${encodeURIComponent(run.id)}/stream"
        ></pre>`;

async function body(c: DashboardContext, kernel: Kernel, runId: string): Promise<Html> {
  const full = c.req.query('view') === 'full';
  const layer = c.req.query('layer');
  const journal = await callAs<Journal>(c, kernel, 'runs.journal', { runId });
  const childrenRead = callAs<{ runs: Run[] }>(c, kernel, 'runs.list', { parentId: runId, limit: 100 }).catch(
    () => ({ runs: [] as Run[] }),
  );
  const [children, approvals, audit] = await Promise.all([
    childrenRead,
    callAs<{ approvals: Approval[] }>(c, kernel, 'approvals.list', { runId, status: 'all', limit: 50 }).catch(
      () => ({
        approvals: [],
      }),
    ),
    childrenRead.then((read) => runAuditSection(c, kernel, journal.run, read.runs.length > 0)),
  ]);
  const run = journal.run;
  const self = `/ui/runs/${encodeURIComponent(run.id)}`;
  return html`${flash((n) => c.req.query(n))}${summary(run)}${liveOutput(run)}${actions(c, run)}
    <h2>Approvals</h2>
    ${
      approvals.approvals.length === 0
        ? notice('info', 'None.')
        : html`<ul>
            ${approvals.approvals.map(
              (a) =>
                html`<li>
                  ${a.question} —
                  ${statusCell(a.status)}${a.decidedBy ? html` by <code>${a.decidedBy}</code>` : ''}${a.reason ? html`: ${a.reason}` : ''}
                  ${a.status === 'pending' ? decideForm(c.get('csrf'), c.get('readOnly'), a.id, self) : ''}
                </li>`,
            )}
          </ul>`
    }
    <h2>Children</h2>
    ${
      children.runs.length === 0
        ? notice('info', 'No child runs.')
        : html`<ul class="tree">
            ${children.runs.map((r) => html`<li>${runLink(r.id)} ${r.workflow} ${statusCell(r.status)}</li>`)}
          </ul>`
    }
    <h2>Timeline</h2>
    <p>
      ${full ? html`<a href="${self}">Compact</a>` : html`<a href="${self}?view=full">Full (with outputs)</a>`}
      · <a href="${self}/journal.json" download>Download the journal (JSON)</a>
    </p>
    ${layerLinks(self, journal.entries, layer)}
    ${timeline(layer === undefined ? journal.entries : journal.entries.filter((e) => layerOfEntry(e) === layer), full)}
    ${audit}`;
}

export function runDetailView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/runs/:id/journal.json', async (c) => {
    const journal = await callAs<Journal>(c, kernel, 'runs.journal', { runId: c.req.param('id') });
    c.header('Content-Disposition', `attachment; filename="${journal.run.id}.json"`);
    return c.json(journal);
  });
  app.get('/runs/:id', async (c) => {
    const runId = c.req.param('id');
    const known = await callAs(c, kernel, 'runs.get', { runId }).then(
      () => undefined,
      (error: unknown) => coerceError(error),
    );
    if (known !== undefined)
      return render(c, kernel, {
        title: 'Run not found',
        current: '/ui/runs',
        status: known.httpStatus === 404 ? 404 : 400,
        body: async () => notice('error', html`<code>${known.code}</code> ${known.message}`),
      });
    return render(c, kernel, {
      title: `Run ${runId}`,
      current: '/ui/runs',
      topics: 'run:*,approval:*',
      runId,
      body: () => body(c, kernel, runId),
    });
  });
  app.post('/runs/:id/signal', requireCsrf(), async (c) => {
    const runId = c.req.param('id');
    const form = await c.req.parseBody();
    const back = `/ui/runs/${encodeURIComponent(runId)}`;
    try {
      const payload = JSON.parse(field(form, 'payload', 'null')) as unknown;
      await callAs(c, kernel, 'runs.signal', { runId, name: field(form, 'name'), payload });
      return c.redirect(`${back}?done=${encodeURIComponent(`signal ${field(form, 'name')} sent`)}`, 303);
    } catch (error) {
      const e =
        error instanceof SyntaxError
          ? { code: 'E_INVALID_INPUT', message: 'the payload is not JSON' }
          : coerceError(error);
      return c.redirect(`${back}?error=${encodeURIComponent(`${e.code}: ${e.message}`)}`, 303);
    }
  });
}
