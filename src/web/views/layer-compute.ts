/**
 * @module web/views/layer-compute
 * The compute layer's page: the health of the browser pool and sandboxes (`fleet.drivers`), the
 * tenant's sandboxes (`sandbox.list`) and its browser sessions (`browser.list`, newest first: which
 * are open, and which of those are live in this server's pool).
 * Sandbox specs are not shown: they can carry environment values.
 */
import { html } from 'hono/html';
import type { SandboxInfo } from '../../compute/index.ts';
import type { Kernel } from '../../kernel/index.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, type DashboardContext } from '../render.ts';
import { driverHealthSection, section, type LayerPage } from './layer-common.ts';
import { dataTable } from './table.ts';

/** What `sandbox.list` returns of a sandbox (its owner is the caller's tenant, left out). */
type SandboxRow = Omit<SandboxInfo, 'owner'>;
interface BrowserRow {
  id: string;
  status: 'open' | 'closed';
  profile: string | null;
  createdAt: number;
  closeReason: string | null;
  actions: number;
  live: boolean;
}

const SANDBOX_STATE = { running: 'status-running', idle: 'status-waiting', paused: 'status-paused' } as const;

function sandboxes(rows: readonly SandboxRow[]): Html {
  if (rows.length === 0) return notice('info', 'No sandboxes.');
  return dataTable(
    ['Sandbox', 'Kind', 'Driver', 'State', { num: 'Snapshots' }, 'Created', 'Last used'],
    rows.map(
      (s) =>
        html`<tr>
          <td><code>${s.name ?? s.id}</code></td>
          <td>${s.kind}</td>
          <td>${s.driver}</td>
          <td class="${SANDBOX_STATE[s.state as keyof typeof SANDBOX_STATE] ?? ''}">${s.state}</td>
          <td class="num">${s.snapshots.length}</td>
          <td>${time(s.createdAt)}</td>
          <td>${time(s.lastUsedAt)}</td>
        </tr>`,
    ),
  );
}

function browsers(rows: readonly BrowserRow[]): Html {
  if (rows.length === 0) return notice('info', 'No browser sessions.');
  const open = rows.filter((r) => r.status === 'open');
  return html`<p>
      ${open.length} open, ${open.filter((r) => r.live).length} of them live in this server's pool (of the
      latest ${rows.length} sessions).
    </p>
    ${dataTable(
      ['Session', 'Status', 'In the pool', 'Profile', { num: 'Actions' }, 'Opened'],
      rows.map(
        (b) =>
          html`<tr>
            <td><code>${b.id}</code></td>
            <td>${b.status}${b.closeReason ? html` (${b.closeReason})` : ''}</td>
            <td>${b.live ? 'live' : 'no'}</td>
            <td>${b.profile ?? ''}</td>
            <td class="num">${b.actions}</td>
            <td>${time(b.createdAt)}</td>
          </tr>`,
      ),
    )}`;
}

export const computeLayer: LayerPage = {
  slug: 'compute',
  title: 'Compute',
  shows: 'sandboxes and the browser pool',
  body: async (c: DashboardContext, kernel: Kernel) =>
    html`${await driverHealthSection(c, kernel, 'compute')}
    ${await section('Sandboxes', async () =>
      sandboxes((await callAs<{ sandboxes: SandboxRow[] }>(c, kernel, 'sandbox.list', {})).sandboxes),
    )}
    ${await section('Browser sessions', async () =>
      browsers((await callAs<{ sessions: BrowserRow[] }>(c, kernel, 'browser.list', { limit: 50 })).sessions),
    )}`,
};
