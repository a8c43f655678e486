/**
 * @module web/views/merge-queue
 * The Merge queue view: per queue of the tenant (`mq.queues`), its figures (`mq.stats`: entries per
 * state, the speculation window and batch size, head-of-line blocker, flake retries, bisections and
 * their depth), the changes being tested and waiting, the culprits (rejected or sent to rework, with
 * the reason), and main's green history: each merged change's commit with the passing check that let
 * it in (`mq.show`). A stopped queue says why and offers `mq.resume` — the only way it runs again.
 * Live on `mq:*`.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import type { CheckRow, EntryRow, QueueRow } from '../../mergequeue/rows.ts';
import type { QueueStats } from '../../mergequeue/stats.ts';
import { duration, notice, time, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { actionForm, flash } from './common.ts';
import { dataTable } from './table.ts';

/** Merged changes shown in main's history, newest first (one `mq.show` each). */
const GREEN_HISTORY = 10;
const short = (commit: string | null): string => (commit ? commit.slice(0, 12) : '-');

function entryTable(caption: string, entries: readonly EntryRow[], extra: 'reason' | 'none'): Html {
  const columns = [
    'Entry',
    'Branch',
    'Author',
    'State',
    ...(extra === 'reason' ? ['Why'] : []),
    { num: 'Checks' },
  ];
  return dataTable(
    columns,
    entries.map(
      (e) =>
        html`<tr data-entry="${e.id}">
          <td><code>${e.id}</code></td>
          <td>${e.branch}</td>
          <td>${e.author}</td>
          <td><span class="status-${e.state}">${e.state.replace('_', ' ')}</span></td>
          ${
            extra === 'reason'
              ? html`<td>
                  ${e.reason}${e.conflictFiles?.length ? html` <span class="muted">(files: ${e.conflictFiles.join(', ')})</span>` : ''}${e.failedCheck ? html` <span class="muted">check <code>${e.failedCheck}</code></span>` : ''}
                </td>`
              : ''
          }
          <td class="num">${e.checks}</td>
        </tr>`,
    ),
    caption,
  );
}

function figures(s: QueueStats): Html {
  const counts = Object.entries(s.counts)
    .map(([state, n]) => `${n} ${state.replace('_', ' ')}`)
    .join(', ');
  return html`<dl class="kv">
    <dt>Entries</dt>
    <dd>${counts || 'none'}</dd>
    ${
      s.running
        ? html`<dt>Speculation</dt>
            <dd>window ${s.window}, next batch of ${s.batchTarget}</dd>
            <dt>Head of line</dt>
            <dd>
              ${s.headOfLine ? html`${s.headOfLine.entries.join(', ')}: ${s.headOfLine.why}` : 'nothing blocked'}
            </dd>`
        : s.stopped
          ? '' // the stop is shown above the figures
          : html`<dt>Worker</dt>
              <dd>none in this server process (one starts with the next submit here)</dd>`
    }
    <dt>Checks</dt>
    <dd>
      ${s.checks} (${s.checksPerMerge === null ? 'no merge yet' : `${s.checksPerMerge} per merged change`}),
      ${duration(s.checkMs)} in sandboxes; ${s.retries} retries, ${s.flakes} flakes
    </dd>
    <dt>Bisection</dt>
    <dd>${s.bisections} bisections, deepest ${s.maxBisectionDepth} probes</dd>
    <dt>Queue time</dt>
    <dd>p50 ${duration(s.queueTimeMs.p50)}, p95 ${duration(s.queueTimeMs.p95)}</dd>
  </dl>`;
}

/** The check that let a merged change in: the last passing check that included it. */
async function greenHistory(
  c: DashboardContext,
  kernel: Kernel,
  queue: string,
  merged: EntryRow[],
): Promise<Html> {
  if (merged.length === 0) return notice('info', 'Nothing merged yet.');
  const newest = [...merged]
    .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
    .slice(0, GREEN_HISTORY);
  const shown = await Promise.all(
    newest.map((e) =>
      callAs<{ checks: CheckRow[] }>(c, kernel, 'mq.show', { queue, id: e.id }).then(
        (s) => ({ entry: e, check: s.checks.findLast((k) => k.outcome === 'pass') }),
        () => ({ entry: e, check: undefined }),
      ),
    ),
  );
  return dataTable(
    ['Merged commit', 'Change', 'Passing check', 'Merged at'],
    shown.map(
      ({ entry, check }) =>
        html`<tr data-merged="${entry.id}">
          <td><code>${short(entry.mergedCommit)}</code></td>
          <td>${entry.branch} <span class="muted">by ${entry.author}</span></td>
          <td>
            ${check ? html`<code>${check.id}</code> ${check.purpose}, pass${check.durationMs === null ? '' : ` in ${duration(check.durationMs)}`}` : '-'}
          </td>
          <td>${entry.finishedAt === null ? '-' : time(entry.finishedAt)}</td>
        </tr>`,
    ),
  );
}

async function queueSection(c: DashboardContext, kernel: Kernel, q: QueueRow): Promise<Html> {
  const [list, stats] = await Promise.all([
    callAs<{ entries: EntryRow[] }>(c, kernel, 'mq.list', { queue: q.id }),
    callAs<QueueStats>(c, kernel, 'mq.stats', { queue: q.id }),
  ]);
  const of = (...states: EntryRow['state'][]): EntryRow[] =>
    list.entries.filter((e) => states.includes(e.state));
  const testing = of('testing');
  const queued = of('queued');
  const culprits = of('rejected', 'needs_rework');
  return html`<section aria-labelledby="mq-${q.id}">
    <h2 id="mq-${q.id}">Queue ${q.id}</h2>
    <p>
      <code>${q.target}</code> of <code>${q.repository}</code>; main at <code>${short(q.mainCommit)}</code>
      (version ${q.mainVersion}). ${q.paused ? html`<strong>Paused.</strong>` : ''}
    </p>
    ${
      q.stopped
        ? html`<p class="notice error" role="alert">
              Stopped ${time(q.stopped.at)}: <code>${q.stopped.code}</code> ${q.stopped.reason}
            </p>
            ${actionForm(
              c.get('csrf'),
              c.get('readOnly'),
              {
                syscall: 'mq.resume',
                input: { queue: q.id },
                label: `Resume queue ${q.id}`,
                confirm: `Resume queue ${q.id}?`,
              },
              '/ui/mq',
            )}`
        : ''
    }
    ${figures(stats)}
    <h3>Speculative batch and lane</h3>
    ${testing.length === 0 ? notice('info', 'Nothing being tested.') : entryTable('Being tested now', testing, 'none')}
    ${queued.length === 0 ? '' : entryTable('Waiting', queued, 'none')}
    <h3>Culprits</h3>
    ${culprits.length === 0 ? notice('info', 'No change rejected.') : entryTable('Rejected or sent back for rework', culprits, 'reason')}
    <h3>Main's green history</h3>
    ${await greenHistory(c, kernel, q.id, of('merged'))}
  </section>`;
}

async function body(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const { queues } = await callAs<{ queues: QueueRow[] }>(c, kernel, 'mq.queues', {});
  if (queues.length === 0) return notice('info', 'No merge queue yet (mq.configure creates one).');
  return html`${flash((n) => c.req.query(n))}
  ${await Promise.all(queues.map((q) => queueSection(c, kernel, q)))}`;
}

export function mergeQueueView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/mq', (c) =>
    render(c, kernel, {
      title: 'Merge queue',
      current: '/ui/mq',
      topics: 'mq:*',
      body: () => body(c, kernel),
    }),
  );
}
