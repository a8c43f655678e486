/**
 * @module web/views/layer-common
 * What the per-layer pages share: the shape of one layer's page, and a section that reads through
 * its own syscall, so one layer's missing grant or failing driver shows as a notice in its section
 * while the rest of the page still renders; and the health of the layer's drivers (`fleet.drivers`),
 * which the needs-you view links to when one is not healthy.
 */
import { html } from 'hono/html';
import type { DriverHealth, Kernel } from '../../kernel/index.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, errorNotice, type DashboardContext } from '../render.ts';
import { dataTable } from './table.ts';

export interface LayerPage {
  /** The URL segment: /ui/layers/<slug>. */
  readonly slug: string;
  readonly title: string;
  /** One line for the index: what the page shows. */
  readonly shows: string;
  body(c: DashboardContext, kernel: Kernel): Promise<Html>;
}

/** An h2 section whose content comes from `read`; a failed read becomes a notice. */
export async function section(title: string, read: () => Promise<Html>): Promise<Html> {
  let content: Html;
  try {
    content = await read();
  } catch (error) {
    content = errorNotice(error);
  }
  return html`<section aria-labelledby="${slugOf(title)}">
    <h2 id="${slugOf(title)}">${title}</h2>
    ${content}
  </section>`;
}

const slugOf = (title: string): string => `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

const STATUS_CLASS: Record<DriverHealth['status'], string> = {
  healthy: 'status-completed',
  degraded: 'status-waiting',
  unhealthy: 'status-failed',
};

/** A "Driver health" section: one row per driver of `layer` this server runs. */
export function driverHealthSection(c: DashboardContext, kernel: Kernel, layer: string): Promise<Html> {
  return section('Driver health', async () => {
    const { drivers } = await callAs<{ drivers: DriverHealth[] }>(c, kernel, 'fleet.drivers', { layer });
    if (drivers.length === 0) return notice('info', 'No driver of this layer reports its health here.');
    return dataTable(
      ['Driver', 'Status', 'Reason', 'Since'],
      drivers.map(
        (d) =>
          html`<tr data-driver="${d.id}">
            <td>${d.name}</td>
            <td class="${STATUS_CLASS[d.status]}">${d.status}</td>
            <td>${d.reason}</td>
            <td>${d.since === null ? '' : time(d.since)}</td>
          </tr>`,
      ),
    );
  });
}
