/**
 * @module web/views/audit
 * Audit: the tenant's audit chain newest first, filtered by the URL (syscall name prefix, outcome,
 * principal, time window, run or run tree) and keyset-paged by seq (`kernel.audit.list`); verifying the chain
 * (`kernel.audit.verify`, a read: entry count, head hash, the first bad entry); and a download of
 * the filtered entries in the CLI's `strata-audit/v1` JSON Lines format, written by the same code
 * (kernel/audit/export.ts). Unfiltered, the download is the whole chain up to the head it was read
 * at, and verifies offline with `strata audit verify --file`; filtered, its header names the filter.
 *
 * Entries hold call inputs with secret fields already redacted by the kernel; they are shown folded.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { stream } from 'hono/streaming';
import {
  coerceError,
  EXPORT_FORMAT,
  writeExport,
  type AuditEntry,
  type ChainHead,
  type ExportHeader,
  type Kernel,
} from '../../kernel/index.ts';
import { duration, notice, time, type Html } from '../layout.ts';
import { callAs, errorNotice, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { runLink } from './common.ts';
import { dataTable } from './table.ts';
import { auditFilterForm, auditFilterFromQuery, auditQueryOf, type AuditFilter } from './audit-filter.ts';

const PAGE_SIZE = 50;
const EXPORT_PAGE = 1000;
/** Longest input shown in a row; the download has it whole. */
const DETAIL_CHARS = 2000;

interface AuditPage {
  entries: AuditEntry[];
  next?: number;
  head: ChainHead;
}

interface Verdict {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBad?: { seq: number; id: string; problem: string; detail: string };
}

const OUTCOME_CLASS = { ok: 'status-completed', error: 'status-failed', denied: 'status-failed' } as const;

/** An entry's outcome as a table cell, with its error code (shared with the Run detail's Audit). */
export const outcomeCell = (e: AuditEntry): Html =>
  html`<td class="${OUTCOME_CLASS[e.outcome]}">
    ${e.outcome}${e.errorCode ? html` <code>${e.errorCode}</code>` : ''}
  </td>`;

function detailOf(entry: AuditEntry): Html {
  const text = JSON.stringify(entry.detail, null, 1);
  if (text === undefined || text === 'null') return html``;
  return html`<details>
    <summary>input</summary>
    <pre>${text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…` : text}</pre>
  </details>`;
}

function entryRows(entries: readonly AuditEntry[]): Html {
  return dataTable(
    [{ num: 'Seq' }, 'Time', 'Syscall', 'Outcome', 'Principal', 'Resource', 'Run', { num: 'Took' }, 'Detail'],
    entries.map(
      (e) =>
        html`<tr data-seq="${e.seq}">
          <td class="num">${e.seq}</td>
          <td>${time(e.ts)}</td>
          <td><code>${e.action}</code></td>
          ${outcomeCell(e)}
          <td><code>${e.principalId}</code></td>
          <td><code>${e.resource}</code></td>
          <td>${e.runId ? runLink(e.runId) : ''}</td>
          <td class="num">${duration(e.durationUs / 1000)}</td>
          <td>${detailOf(e)}</td>
        </tr>`,
    ),
  );
}

async function listBody(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const url = new URL(c.req.url);
  const filter = auditFilterFromQuery(url);
  const before = url.searchParams.get('before');
  const tools = html`<p>
    <a href="/ui/audit/verify">Verify the chain</a> ·
    <a href="/ui/audit/export.jsonl${auditQueryOf(filter)}" download
      >Download ${Object.keys(filter).length === 0 ? 'the whole chain' : 'these entries'} (JSONL)</a
    >
  </p>`;
  let page: AuditPage;
  try {
    page = await callAs<AuditPage>(c, kernel, 'kernel.audit.list', {
      ...filter,
      order: 'desc',
      limit: PAGE_SIZE,
      ...(before ? { beforeSeq: /^\d+$/.test(before) ? Number(before) : before } : {}),
    });
  } catch (error) {
    if (coerceError(error).httpStatus === 400) c.set('viewStatus', 400);
    return html`${auditFilterForm(url)}${errorNotice(error)}`;
  }
  return html`${auditFilterForm(url)}${tools}
    <p class="muted">The chain's head is seq ${page.head.seq}; newest entries first.</p>
    ${page.entries.length === 0 ? notice('info', 'No audit entry matches.') : entryRows(page.entries)}
    <nav class="pager" aria-label="Pages">
      ${before ? html`<a href="/ui/audit${auditQueryOf(filter)}">Newest entries</a>` : ''}
      ${
        page.next
          ? html`<a href="/ui/audit${auditQueryOf(filter, { before: String(page.next) })}" rel="next"
              >Older entries</a
            >`
          : ''
      }
    </nav>`;
}

async function verifyBody(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const verdict = await callAs<Verdict>(c, kernel, 'kernel.audit.verify', {});
  const bad = verdict.firstBad;
  return html`<dl class="kv" id="verdict">
      <dt>Result</dt>
      <dd class="${verdict.ok ? 'status-completed' : 'status-failed'}">
        ${verdict.ok ? 'the chain is intact' : 'the chain is broken'}
      </dd>
      <dt>Entries verified</dt>
      <dd>${verdict.entries}</dd>
      <dt>Head hash</dt>
      <dd><code>${verdict.headHash}</code></dd>
      ${
        bad
          ? html`<dt>First bad entry</dt>
              <dd>
                seq ${bad.seq} ${bad.id ? html`(<code>${bad.id}</code>)` : ''}: ${bad.problem} — ${bad.detail}
              </dd>`
          : ''
      }
    </dl>
    <p><a href="/ui/audit">Back to the audit log</a></p>`;
}

/** Every entry matching the filter, page after page, up to the head the first page saw. */
async function* matching(
  c: DashboardContext,
  kernel: Kernel,
  filter: AuditFilter,
  first: AuditPage,
): AsyncGenerator<AuditEntry> {
  let page = first;
  for (;;) {
    yield* page.entries;
    if (page.next === undefined || page.next >= first.head.seq) return;
    page = await callAs<AuditPage>(c, kernel, 'kernel.audit.list', {
      ...filter,
      afterSeq: page.next,
      limit: EXPORT_PAGE,
    });
  }
}

async function exportResponse(c: DashboardContext, kernel: Kernel): Promise<Response> {
  const filter = auditFilterFromQuery(new URL(c.req.url));
  let first: AuditPage;
  try {
    first = await callAs<AuditPage>(c, kernel, 'kernel.audit.list', { ...filter, limit: EXPORT_PAGE });
  } catch (error) {
    // Bad input or no grant: a page saying so, not a broken download.
    return render(c, kernel, {
      title: 'Audit export',
      current: '/ui/audit',
      status: coerceError(error).httpStatus === 400 ? 400 : 200,
      body: () => Promise.resolve(errorNotice(error)),
    });
  }
  const tenantId = c.get('principal').tenantId;
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    tenantId,
    head: first.head,
    exportedAt: kernel.clock.now(),
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
  };
  c.header('Content-Type', 'application/x-ndjson; charset=utf-8');
  c.header('Content-Disposition', `attachment; filename="audit-${tenantId}.jsonl"`);
  return stream(
    c,
    async (out) => {
      await writeExport(
        async (text) => {
          await out.write(text);
        },
        header,
        matching(c, kernel, filter, first),
      );
    },
    (error) => {
      kernel.logger.error({ err: error }, 'audit export failed mid-stream');
      return Promise.resolve();
    },
  );
}

export function auditView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/audit', (c) =>
    render(c, kernel, { title: 'Audit', current: '/ui/audit', body: () => listBody(c, kernel) }),
  );
  app.get('/audit/verify', (c) =>
    render(c, kernel, {
      title: 'Audit chain verification',
      current: '/ui/audit',
      body: () => verifyBody(c, kernel),
    }),
  );
  app.get('/audit/export.jsonl', (c) => exportResponse(c, kernel));
}
