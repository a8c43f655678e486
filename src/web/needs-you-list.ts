/**
 * @module web/needs-you-list
 * What the needs-you view lists and its nav badge counts, from one function so the two always agree:
 * the tenant's "needs you" list (`fleet.problems`), which includes the drivers of this server that
 * are not healthy (browser pool, sandboxes, SMTP relay and outbox, MCP servers, model buckets), as
 * `strata problems` shows it.
 */
import type { Kernel } from '../kernel/index.ts';
import type { Problems } from '../orchestration/problems/types.ts';
import { callAs, type DashboardContext } from './render.ts';

export interface NeedsYou {
  readonly problems: Problems;
  readonly count: number;
}

export async function needsYou(c: DashboardContext, kernel: Kernel, limit = 200): Promise<NeedsYou> {
  const problems = await callAs<Problems>(c, kernel, 'fleet.problems', { limit });
  return { problems, count: problems.count };
}
