/**
 * @module web/views/layer-tools
 * The tools layer's page: the tenant's MCP servers with their health (`tools.servers`) and tools,
 * its OpenAPI connectors and their operations (`tools.list` by source), and its vault connections
 * by name, kind and owner only (`tools.vault.list` never returns a secret; this page does not show
 * a connection's metadata either).
 */
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { notice, time, type Html } from '../layout.ts';
import { callAs, type DashboardContext } from '../render.ts';
import { section, type LayerPage } from './layer-common.ts';
import { dataTable } from './table.ts';

interface Server {
  name: string;
  transport: string;
  health: string;
  lastError?: string;
  restarts: number;
  tools: number;
}
interface Tool {
  name: string;
  description: string;
  provider?: string;
  connection?: string;
}
interface Connection {
  name: string;
  owner: string;
  kind: string;
  updatedAt: number;
}

const HEALTH = {
  ready: 'status-completed',
  unhealthy: 'status-failed',
  connecting: 'status-waiting',
} as const;

function servers(rows: readonly Server[]): Html {
  if (rows.length === 0) return notice('info', 'No MCP servers.');
  return dataTable(
    ['Server', 'Transport', 'Health', { num: 'Restarts' }, { num: 'Tools' }, 'Last error'],
    rows.map(
      (s) =>
        html`<tr>
          <td><code>${s.name}</code></td>
          <td>${s.transport}</td>
          <td class="${HEALTH[s.health as keyof typeof HEALTH] ?? ''}">${s.health}</td>
          <td class="num">${s.restarts}</td>
          <td class="num">${s.tools}</td>
          <td>${s.lastError ?? ''}</td>
        </tr>`,
    ),
  );
}

/** Tools grouped by their provider (the MCP server or the OpenAPI connector). */
function toolsByProvider(tools: readonly Tool[], none: string): Html {
  if (tools.length === 0) return notice('info', none);
  const groups = new Map<string, Tool[]>();
  for (const t of tools)
    groups.set(t.provider ?? '(none)', [...(groups.get(t.provider ?? '(none)') ?? []), t]);
  return html`${[...groups].map(
    ([provider, list]) =>
      html`<h3><code>${provider}</code> (${list.length} tools)</h3>
        <ul>
          ${list.map((t) => html`<li><code>${t.name}</code> ${t.description}</li>`)}
        </ul>`,
  )}`;
}

function connections(rows: readonly Connection[]): Html {
  if (rows.length === 0) return notice('info', 'No vault connections.');
  return dataTable(
    ['Connection', 'Kind', 'Owner', 'Updated'],
    rows.map(
      (v) =>
        html`<tr>
          <td><code>${v.name}</code></td>
          <td>${v.kind}</td>
          <td>${v.owner === '' ? 'tenant' : html`<code>${v.owner}</code>`}</td>
          <td>${time(v.updatedAt)}</td>
        </tr>`,
    ),
  );
}

export const toolsLayer: LayerPage = {
  slug: 'tools',
  title: 'Tools',
  shows: 'MCP servers and their tools, OpenAPI connectors, vault connections (names only)',
  body: async (c: DashboardContext, kernel: Kernel) => {
    const list = (source: string): Promise<Tool[]> =>
      callAs<{ tools: Tool[] }>(c, kernel, 'tools.list', { source }).then((r) => r.tools);
    return html`${await section('MCP servers', async () =>
      servers((await callAs<{ servers: Server[] }>(c, kernel, 'tools.servers', {})).servers),
    )}
    ${await section('MCP tools', async () => toolsByProvider(await list('mcp'), 'No MCP tools.'))}
    ${await section('OpenAPI connectors', async () =>
      toolsByProvider(await list('openapi'), 'No OpenAPI connectors.'),
    )}
    ${await section('Vault connections', async () =>
      connections(
        (await callAs<{ connections: Connection[] }>(c, kernel, 'tools.vault.list', {})).connections,
      ),
    )}`;
  },
};
