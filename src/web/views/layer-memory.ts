/**
 * @module web/views/layer-memory
 * The memory layer's page: a search form whose query (and optional agent / user scope) stays in the
 * URL, answered by `memory.search` with each hit's fused score and the signals that matched; and the
 * count of active facts in that scope (`memory.list`, one page of at most 1,000, so "1000+" beyond).
 */
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, type DashboardContext } from '../render.ts';
import { section, type LayerPage } from './layer-common.ts';
import { dataTable } from './table.ts';

const HITS = 20;
const FACTS_COUNTED = 1000;

interface Hit {
  memory: { id: string; kind: string; text: string; status: string; scope: Record<string, string> };
  score: number;
  signals: Record<string, unknown>;
}

function searchForm(query: { q: string; agent: string; user: string }): Html {
  return html`<form
    method="get"
    action="/ui/layers/memory"
    class="filters"
    role="search"
    aria-label="Search memory"
  >
    <label for="m-q">Query<input id="m-q" name="q" value="${query.q}" required /></label>
    <label for="m-agent">Agent (optional)<input id="m-agent" name="agent" value="${query.agent}" /></label>
    <label for="m-user">User (optional)<input id="m-user" name="user" value="${query.user}" /></label>
    <button type="submit" class="primary">Search</button>
  </form>`;
}

const scopeText = (scope: Record<string, string>): string =>
  Object.entries(scope)
    .map(([k, v]) => `${k.replace(/Id$/, '')} ${v}`)
    .join(', ');

function hits(list: readonly Hit[]): Html {
  if (list.length === 0) return notice('info', 'Nothing matches.');
  return dataTable(
    [{ num: 'Score' }, 'Memory', 'Kind', 'Matched by', 'Scope'],
    list.map(
      (h) =>
        html`<tr data-memory="${h.memory.id}">
          <td class="num">${h.score.toFixed(4)}</td>
          <td>${h.memory.text}</td>
          <td>${h.memory.kind}${h.memory.status === 'active' ? '' : ` (${h.memory.status})`}</td>
          <td>${Object.keys(h.signals).join(', ')}</td>
          <td>${scopeText(h.memory.scope)}</td>
        </tr>`,
    ),
  );
}

export const memoryLayer: LayerPage = {
  slug: 'memory',
  title: 'Memory',
  shows: 'search with scores, and the count of facts',
  body: async (c: DashboardContext, kernel: Kernel) => {
    const query = {
      q: c.req.query('q') ?? '',
      agent: c.req.query('agent') ?? '',
      user: c.req.query('user') ?? '',
    };
    const scope = {
      ...(query.agent ? { agentId: query.agent } : {}),
      ...(query.user ? { userId: query.user } : {}),
    };
    return html`${searchForm(query)}
    ${await section('Facts', async () => {
      const page = await callAs<{ memories: unknown[]; next?: string }>(c, kernel, 'memory.list', {
        scope,
        kind: 'fact',
        status: 'active',
        limit: FACTS_COUNTED,
      });
      const count = page.next ? `${FACTS_COUNTED}+` : String(page.memories.length);
      const where = Object.keys(scope).length > 0 ? `in ${scopeText(scope)}` : 'in this tenant';
      return html`<p id="facts-count">${count} active ${count === '1' ? 'fact' : 'facts'} ${where}.</p>`;
    })}
    ${
      query.q.trim() === ''
        ? ''
        : await section('Results', async () =>
            hits(
              (await callAs<{ hits: Hit[] }>(c, kernel, 'memory.search', { scope, query: query.q, k: HITS }))
                .hits,
            ),
          )
    }`;
  },
};
