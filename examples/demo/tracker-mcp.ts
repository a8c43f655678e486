/**
 * The shop's issue tracker as an MCP server over stdio (the official SDK): the sprint's source of
 * truth. Agents read their issue (`get_issue`), move it along and comment (`update_issue`); the demo
 * reads the board back at the end (`list_issues`). Issues live in a SQLite file beside the demo's
 * store (WAL), so both worker processes' tracker servers see one board and an update survives the
 * server being killed mid-call (chaos `mcp_killed`). Usage:
 * `node examples/demo/tracker-mcp.ts <seed> <count> <sha256 of the token> <database file>`.
 * It serves only with its API token in TRACKER_TOKEN, which the demo keeps in the vault and Strata
 * injects into the server's environment (`secretEnv`): never in args or the audit.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { ISSUE_STATUSES, seedIssues, type Issue } from './issues.ts';

const [seed = '7', count = '50', tokenHash = '', file = ':memory:'] = process.argv.slice(2);
const token = process.env['TRACKER_TOKEN'] ?? '';
if (createHash('sha256').update(token).digest('hex') !== tokenHash) {
  console.error('shop-tracker: TRACKER_TOKEN missing or wrong');
  process.exit(1);
}

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec(`CREATE TABLE IF NOT EXISTS issues (
  number INTEGER PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
  labels TEXT NOT NULL DEFAULT '[]', comments TEXT NOT NULL DEFAULT '[]')`);
const seedIt = db.prepare('INSERT OR IGNORE INTO issues (number, body) VALUES (?, ?)');
db.transaction(() => {
  for (const issue of seedIssues(Number(seed), Number(count)))
    seedIt.run(issue.number, JSON.stringify(issue));
})();

interface Row {
  number: number;
  body: string;
  status: string;
  labels: string;
  comments: string;
}
const view = (row: Row) => ({
  ...(JSON.parse(row.body) as Issue),
  status: row.status,
  labels: JSON.parse(row.labels) as string[],
  comments: (JSON.parse(row.comments) as string[]).length,
});
const one = db.prepare<[number], Row>('SELECT * FROM issues WHERE number = ?');
const all = db.prepare<[], Row>('SELECT * FROM issues ORDER BY number');
const update = db.prepare('UPDATE issues SET status = ?, labels = ?, comments = ? WHERE number = ?');
const answer = (value: Record<string, unknown>) => ({
  content: [{ type: 'text' as const, text: JSON.stringify(value) }],
  structuredContent: value,
});
const missing = (number: number) => ({
  isError: true,
  content: [{ type: 'text' as const, text: `no issue #${number}` }],
});

const server = new McpServer({ name: 'shop-tracker', version: '1.1.0' });
server.registerTool(
  'get_issue',
  {
    description: 'Returns one issue of the shop tracker: title, area, order lines, amount charged, status.',
    inputSchema: { number: z.number().int() },
    annotations: { readOnlyHint: true },
  },
  ({ number }) => {
    const row = one.get(number);
    return row ? answer(view(row)) : missing(number);
  },
);
server.registerTool(
  'update_issue',
  {
    description:
      'Moves an issue to a status, adds labels, and appends a comment. Repeating the same update changes nothing more.',
    inputSchema: {
      number: z.number().int(),
      status: z.enum(ISSUE_STATUSES),
      labels: z.array(z.string().max(40)).max(10).default([]),
      comment: z.string().max(2000).optional(),
    },
    annotations: { idempotentHint: true },
  },
  ({ number, status, labels, comment }) => {
    const row = one.get(number);
    if (!row) return missing(number);
    const had = JSON.parse(row.labels) as string[];
    const comments = JSON.parse(row.comments) as string[];
    // A retried call (the same comment again) must not comment twice.
    if (comment !== undefined && comments.at(-1) !== comment) comments.push(comment);
    const merged = [...new Set([...had, ...labels])];
    update.run(status, JSON.stringify(merged), JSON.stringify(comments), number);
    return answer(
      view({ ...row, status, labels: JSON.stringify(merged), comments: JSON.stringify(comments) }),
    );
  },
);
server.registerTool(
  'list_issues',
  {
    description: 'Every issue of the sprint with its status and labels.',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  },
  () => answer({ issues: all.all().map(view) }),
);
await server.connect(new StdioServerTransport());
