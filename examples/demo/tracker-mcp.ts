/**
 * The shop's issue tracker as an MCP server over stdio (the official SDK), started by the demo
 * through `tools.mcp.add`: agents read their issue with `mcp.tracker.get_issue`. Usage:
 * `node examples/demo/tracker-mcp.ts <seed> <count> <sha256 of the token>` (the same seeded issues as
 * the task board). It serves only with its API token in TRACKER_TOKEN, which the demo keeps in the
 * vault and Strata injects into the server's environment (`secretEnv`): never in args or the audit.
 */
import { createHash } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { seedIssues } from './issues.ts';

const [seed = '7', count = '50', tokenHash = ''] = process.argv.slice(2);
const token = process.env['TRACKER_TOKEN'] ?? '';
if (createHash('sha256').update(token).digest('hex') !== tokenHash) {
  console.error('shop-tracker: TRACKER_TOKEN missing or wrong');
  process.exit(1);
}
const issues = new Map(seedIssues(Number(seed), Number(count)).map((i) => [i.number, i]));
const server = new McpServer({ name: 'shop-tracker', version: '1.0.0' });
server.registerTool(
  'get_issue',
  {
    description: 'Returns one issue of the shop tracker: title, area, order lines and the amount charged.',
    inputSchema: { number: z.number().int() },
    annotations: { readOnlyHint: true },
  },
  ({ number }) => {
    const issue = issues.get(number);
    if (!issue) return { isError: true, content: [{ type: 'text', text: `no issue #${number}` }] };
    return { content: [{ type: 'text', text: JSON.stringify(issue) }], structuredContent: { ...issue } };
  },
);
await server.connect(new StdioServerTransport());
