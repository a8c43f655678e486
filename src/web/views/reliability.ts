/**
 * @module web/views/reliability
 * The Reliability view: `fleet.reliability` over a window (`?since=1h|24h|all`) — per layer the
 * calls, the faults injected, how many each mechanism recovered (retry, fallback, restart, lease
 * takeover, human), the unrecovered, and success raw vs with Strata as two `<meter>`s with their
 * figures in text; then the end-to-end rates (predicted from the raw rates, measured), times to
 * recover, what recovering cost and the invariants with their evidence. Live on `run:*`.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { otherFailures, type LayerReliability, type ReliabilityReport } from '../../orchestration/index.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { dataTable } from './table.ts';

const WINDOWS = [
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last day', 86_400_000],
  ['all', 'All history', undefined],
] as const;
type Window = (typeof WINDOWS)[number];

const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);

function rate(label: string, v: number | null): Html {
  if (v === null) return html`<span class="muted">no calls</span>`;
  return html`<meter min="0" max="1" value="${v}" aria-label="${label}: ${pct(v)}"></meter> ${pct(v)}`;
}

function windowPicker(current: Window): Html {
  return html`<nav aria-label="Time window" class="pager">
    ${WINDOWS.map((w) =>
      w === current
        ? html`<strong aria-current="page">${w[1]}</strong>`
        : html`<a href="/ui/reliability?since=${w[0]}">${w[1]}</a>`,
    )}
  </nav>`;
}

function layerRow(l: LayerReliability): Html {
  const r = l.recovered;
  return html`<tr data-layer="${l.layer}">
    <td>${l.layer}</td>
    <td class="num">${l.syscalls}</td>
    <td class="num">${l.faultsInjected}</td>
    <td class="num">${r.retry}</td>
    <td class="num">${r.fallback}</td>
    <td class="num">${r.restart}</td>
    <td class="num">${r.takeover}</td>
    <td class="num">${r.human}</td>
    <td class="num">${l.unrecovered}</td>
    <td>${rate(`${l.layer} raw`, l.successRaw)}</td>
    <td>${rate(`${l.layer} with Strata`, l.successWithStrata)}</td>
    <td>${otherFailures(l)}</td>
  </tr>`;
}

const ms = (q: { p50: number; p95: number } | null): string =>
  q === null ? 'none' : `p50 ${Math.round(q.p50)} ms, p95 ${Math.round(q.p95)} ms`;

function invariantRow(
  name: string,
  c: { checked: boolean; holds: boolean; reason?: string },
  evidence: string,
): Html {
  const verdict = !c.checked ? 'not checked' : c.holds ? 'holds' : 'broken';
  return html`<tr data-invariant="${name}">
    <td>${name}</td>
    <td class="${c.checked && !c.holds ? 'status-failed' : ''}">${verdict}</td>
    <td>${c.checked ? evidence : (c.reason ?? '')}</td>
  </tr>`;
}

function body(r: ReliabilityReport): Html {
  const e = r.endToEnd;
  const inv = r.invariants;
  const cost = r.recoveryCost;
  return html`<h2>Per layer</h2>
    ${
      r.layers.length === 0
        ? notice('info', 'No syscalls in this window.')
        : dataTable(
            [
              'Layer',
              { num: 'Calls' },
              { num: 'Faults' },
              { num: 'Retry' },
              { num: 'Fallback' },
              { num: 'Restart' },
              { num: 'Takeover' },
              { num: 'Human' },
              { num: 'Unrecovered' },
              'Raw',
              'With Strata',
              'Other failures',
            ],
            r.layers.map(layerRow),
          )
    }
    <h2>End to end</h2>
    <dl class="kv">
      <dt>Predicted raw</dt>
      <dd>
        ${pct(e.predictedRaw)}
        <span class="muted">(product over ${e.layersUsed.join(', ') || 'no layers'})</span>
      </dd>
      <dt>Predicted raw per task</dt>
      <dd>
        ${pct(e.predictedRawPerTask)}
        <span class="muted"
          >(${pct(e.perCallRaw)} per call, ${e.callsPerTask === null ? '–' : e.callsPerTask.toFixed(1)} calls
          per task)</span
        >
      </dd>
      <dt>Measured without mechanisms</dt>
      <dd>
        ${e.measuredWithoutMechanisms === null ? html`<span class="muted">not measured (the demo's first pass gives it)</span>` : pct(e.measuredWithoutMechanisms)}
      </dd>
      <dt>Measured with mechanisms</dt>
      <dd>
        ${pct(e.measuredWithMechanisms)}
        <span class="muted"
          >(${e.tasks.completed} of ${e.tasks.completed + e.tasks.failed} finished tasks, ${e.tasks.live}
          live)</span
        >
      </dd>
    </dl>
    <h2>Recovery</h2>
    <dl class="kv">
      <dt>Time to recover</dt>
      <dd>
        calls ${ms(r.timeToRecoverMs.calls)}; runs ${ms(r.timeToRecoverMs.runs)}; takeovers
        ${ms(r.timeToRecoverMs.takeovers)}
      </dd>
      <dt>Extra time and cost</dt>
      <dd>
        ${cost.retriedCalls} retried calls (${Math.round(cost.retriedCallsMs)} ms); ${cost.restartedRuns}
        restarted runs (${Math.round(cost.restartedRunsMs)} ms, ${cost.restartedRunsCostMicros} micros)
      </dd>
    </dl>
    <details>
      <summary>What is approximated</summary>
      <ul>
        ${cost.approximations.map((a) => html`<li>${a}</li>`)}
      </ul>
    </details>
    <h2>Invariants</h2>
    ${dataTable(
      ['Invariant', 'Verdict', 'Evidence'],
      [
        invariantRow(
          'budget never exceeded',
          inv.budget,
          `${inv.budget.periods} budget periods, ${inv.budget.exceeded} exceeded, ${inv.budget.softOver} soft over`,
        ),
        invariantRow(
          'no duplicated side effects',
          inv.duplicatedSideEffects,
          `${inv.duplicatedSideEffects.checkedMails} mails sent, ${inv.duplicatedSideEffects.duplicates} duplicates`,
        ),
        invariantRow(
          'audit chain verified',
          inv.auditChain,
          `${inv.auditChain.entries} entries, head ${inv.auditChain.headHash ?? '–'}`,
        ),
        invariantRow(
          'main green at every merge',
          inv.mainGreen,
          `${inv.mainGreen.merges} merges, ${inv.mainGreen.notGreen} not green`,
        ),
      ],
    )}
    ${r.truncated ? notice('info', 'A bounded scan hit its limit: the figures cover the newest rows only.') : ''}`;
}

async function view(c: DashboardContext, kernel: Kernel, w: Window): Promise<Html> {
  const report = await callAs<ReliabilityReport>(
    c,
    kernel,
    'fleet.reliability',
    w[2] === undefined ? {} : { sinceMs: w[2] },
  );
  return html`${windowPicker(w)}${body(report)}`;
}

export function reliabilityView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/reliability', (c) => {
    const asked = c.req.query('since') ?? 'all';
    const w = WINDOWS.find(([key]) => key === asked);
    if (w === undefined) c.set('viewStatus', 400);
    return render(c, kernel, {
      title: 'Reliability',
      current: '/ui/reliability',
      topics: 'run:*',
      body: async () =>
        w === undefined
          ? html`${windowPicker(WINDOWS[2])}${notice('error', html`<code>E_INVALID_INPUT</code> no window ${asked.slice(0, 40)}: 1h, 24h or all`)}`
          : view(c, kernel, w),
    });
  });
}
