/**
 * @module web/views/fleet
 * The Fleet view: the tenant's fleet right now, from `fleet.snapshot` (one bounded query per figure,
 * the same call `strata fleet top` redraws) — runs by status and per second, live agents by state,
 * queue depths, workers with their leases, cost burn against budgets — plus syscall outcomes per
 * layer over the last hour from `fleet.report` (read from the audit log). Re-rendered on `run:*`.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import type { FleetSnapshot } from '../../orchestration/fleet-snapshot/types.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, render, type DashboardContext } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import { statusCell } from './common.ts';
import { spendMeter } from './spend-meter.ts';
import { dataTable } from './table.ts';

/** The layer outcomes the view shows: the last hour, so the audit scan stays bounded. */
const LAYER_WINDOW_MS = 3_600_000;

interface LayerOutcomes {
  readonly syscalls: readonly {
    layer: string;
    ok: number;
    failed: number;
    denied: number;
    throttled: number;
  }[];
}

const rate = (n: number): string => n.toFixed(2);

/** A two-column table of counts (label, figure). */
function countTable(caption: string, head: string, rows: readonly [Html | string, number][]): Html {
  return dataTable(
    [head, { num: 'Count' }],
    rows.map(
      ([label, n]) =>
        html`<tr>
          <td>${label}</td>
          <td class="num">${n}</td>
        </tr>`,
    ),
    caption,
  );
}

function layersTable(report: LayerOutcomes): Html {
  if (report.syscalls.length === 0) return notice('info', 'No syscall in the last hour.');
  return dataTable(
    ['Layer', { num: 'OK' }, { num: 'Failed' }, { num: 'Denied' }, { num: 'Throttled' }, { num: 'Success' }],
    report.syscalls.map((l) => {
      const total = l.ok + l.failed + l.denied;
      return html`<tr data-layer="${l.layer}">
        <td>${l.layer}</td>
        <td class="num">${l.ok}</td>
        <td class="num">${l.failed}</td>
        <td class="num">${l.denied}</td>
        <td class="num">${l.throttled}</td>
        <td class="num">${total === 0 ? '-' : `${((l.ok / total) * 100).toFixed(1)}%`}</td>
      </tr>`;
    }),
  );
}

function workersSection(w: FleetSnapshot['workers']): Html {
  return html`<p>
      <strong>${w.live}</strong> live workers, <strong>${w.leases}</strong> leases held,
      <strong>${w.expiredLeases}</strong> expired, <strong>${w.takeovers}</strong> takeovers in the last
      minute.
    </p>
    ${
      w.list.length === 0
        ? ''
        : dataTable(
            ['Worker', 'State', 'Seen', { num: 'Leases' }, { num: 'Expired' }, 'Next expiry'],
            w.list.map(
              (x) =>
                html`<tr>
                  <td><code>${x.id}</code></td>
                  <td>${x.live ? 'live' : 'gone'}</td>
                  <td>${x.seenAt === null ? '-' : time(x.seenAt)}</td>
                  <td class="num">${x.leases}</td>
                  <td class="num">${x.expiredLeases}</td>
                  <td>${x.nextExpiryAt === null ? '-' : time(x.nextExpiryAt)}</td>
                </tr>`,
            ),
          )
    }`;
}

function costSection(cost: FleetSnapshot['cost']): Html {
  if (cost === null) return notice('info', 'Billing is not set up on this store.');
  return html`<p>
      Burn in the last minute:
      ${cost.burn.length === 0 ? 'nothing' : cost.burn.map((b) => html`<strong>${b.lastMinute} ${b.currency}</strong> `)}
    </p>
    ${
      cost.budgets.length === 0
        ? notice('info', 'No tenant, agent or resource budget.')
        : dataTable(
            ['Budget', 'Period', 'Mode', 'Spent of limit', { num: 'Held' }],
            cost.budgets.map(
              (b) =>
                html`<tr data-budget="${b.id}">
                  <td>${b.scope}${b.subject ? html` <code>${b.subject}</code>` : ''}</td>
                  <td>${b.period}</td>
                  <td>${b.mode}</td>
                  <td>${spendMeter(`${b.scope} budget`, b.spent, b.limit, b.currency)}</td>
                  <td class="num">${b.held}</td>
                </tr>`,
            ),
          )
    }
    ${cost.omitted > 0 ? html`<p class="muted">${cost.omitted} more budgets not shown.</p>` : ''}`;
}

async function body(c: DashboardContext, kernel: Kernel): Promise<Html> {
  const [s, layers] = await Promise.all([
    callAs<FleetSnapshot>(c, kernel, 'fleet.snapshot', {}),
    callAs<LayerOutcomes>(c, kernel, 'fleet.report', { sinceMs: LAYER_WINDOW_MS }).catch(() => null),
  ]);
  const t = s.throughput;
  return html`<p class="muted">As of ${time(s.generatedAt)}.</p>
    <h2>Runs</h2>
    <p>
      <strong>${rate(t.completedPerSec)}</strong> completed/s and <strong>${rate(t.failedPerSec)}</strong>
      failed/s over the last ${Math.round(t.windowMs / 1000)} s (${t.completed} completed, ${t.failed}
      failed); ${s.runs.total} runs in all.
    </p>
    ${countTable(
      'Runs by status',
      'Status',
      Object.entries(s.runs.byStatus)
        .filter(([, n]) => n > 0)
        .map(([status, n]) => [statusCell(status), n]),
    )}
    <h2>Agents</h2>
    ${countTable(
      `${s.agents.total} live supervised agents by state`,
      'State',
      Object.entries(s.agents.byState).map(([state, n]) => [state.replace('_', ' '), n]),
    )}
    <p>
      Needing attention: ${s.attention.stalled}${s.attention.truncated ? '+' : ''} stalled,
      ${s.attention.budgetPaused}${s.attention.truncated ? '+' : ''} paused on a budget.
    </p>
    <h2>Success per layer</h2>
    ${layers === null ? notice('info', 'The fleet report cannot be read with this session.') : layersTable(layers)}
    <h2>Queues</h2>
    <p><strong>${s.queues.queued}</strong> runs queued.</p>
    ${
      s.queues.byWorkflow.length === 0
        ? ''
        : dataTable(
            ['Workflow', { num: 'Queued' }, 'Oldest'],
            s.queues.byWorkflow.map(
              (q) =>
                html`<tr>
                  <td>${q.workflow}</td>
                  <td class="num">${q.queued}</td>
                  <td>${time(q.oldestAt)}</td>
                </tr>`,
            ),
          )
    }
    <h2>Workers and leases</h2>
    ${workersSection(s.workers)}
    <h2>Cost burn and budgets</h2>
    ${costSection(s.cost)}`;
}

export function fleetView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/fleet', (c) =>
    render(c, kernel, { title: 'Fleet', current: '/ui/fleet', topics: 'run:*', body: () => body(c, kernel) }),
  );
}
