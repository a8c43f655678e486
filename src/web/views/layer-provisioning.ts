/**
 * @module web/views/layer-provisioning
 * The provisioning layer's page: the tenant's provisioned resources and their state
 * (`provision.list`), with when each was last used, when it expires and its last error. A resource's
 * env and config are not shown: they hold connection strings.
 */
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, type DashboardContext } from '../render.ts';
import { section, type LayerPage } from './layer-common.ts';
import { dataTable, isoTime } from './table.ts';

interface ResourceRow {
  id: string;
  kind: string;
  name: string;
  state: string;
  labels: Record<string, string>;
  expiresAt: string | null;
  lastUsedAt: string;
  error: string | null;
  createdAt: string;
}

const STATE_CLASS: Record<string, string> = {
  ready: 'status-completed',
  failed: 'status-failed',
  suspended: 'status-paused',
  pending: 'status-waiting',
  destroying: 'status-waiting',
  destroyed: 'status-cancelled',
};

function resources(rows: readonly ResourceRow[]): Html {
  if (rows.length === 0) return notice('info', 'No provisioned resources.');
  return dataTable(
    ['Resource', 'Kind', 'State', 'Labels', 'Last used', 'Expires', 'Created'],
    rows.map(
      (r) =>
        html`<tr>
          <td><code>${r.name}</code></td>
          <td>${r.kind}</td>
          <td class="${STATE_CLASS[r.state] ?? ''}">${r.state}${r.error ? html`: ${r.error}` : ''}</td>
          <td>
            ${Object.entries(r.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}
          </td>
          <td>${isoTime(r.lastUsedAt)}</td>
          <td>${isoTime(r.expiresAt)}</td>
          <td>${isoTime(r.createdAt)}</td>
        </tr>`,
    ),
  );
}

export const provisioningLayer: LayerPage = {
  slug: 'provisioning',
  title: 'Provisioning',
  shows: 'provisioned resources and their state',
  body: async (c: DashboardContext, kernel: Kernel) =>
    section('Resources', async () =>
      resources((await callAs<{ resources: ResourceRow[] }>(c, kernel, 'provision.list', {})).resources),
    ),
};
