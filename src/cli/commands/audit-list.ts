/**
 * @module cli/commands/audit-list
 * `strata audit list` (`ls`): one page of the caller tenant's audit entries from a running server
 * (`kernel.audit.list` over HTTP, so the key's grants decide what it may read), filtered like the
 * dashboard's Audit view: by durable run (`--run`: the calls made in that run and the actions on it;
 * `--root`: every run of that tree), syscall name prefix, outcome and principal. Oldest first, as
 * the chain reads; `--newest` turns it round. A malformed run id is the kernel's E_INVALID_INPUT
 * (exit 2) naming the field, so the CLI and the HTTP API refuse it the same way.
 */
import type { Command } from 'commander';
import type { AuditEntry, ChainHead } from '../../kernel/index.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { remoteOf } from '../remote.ts';

interface ListOptions {
  run?: string;
  root?: string;
  action?: string;
  outcome?: string;
  principal?: string;
  limit?: number;
  newest?: boolean;
  after?: number;
  before?: number;
  url?: string;
  key?: string;
}

interface AuditPage {
  entries: AuditEntry[];
  next?: number;
  head: ChainHead;
}

function entriesTable(page: AuditPage): string {
  if (page.entries.length === 0) return 'no audit entry matches';
  return table(
    ['SEQ', 'TIME', 'SYSCALL', 'OUTCOME', 'PRINCIPAL', 'RUN'],
    page.entries.map((e) => [
      String(e.seq),
      when(e.ts),
      e.action,
      e.errorCode ? `${e.outcome} ${e.errorCode}` : e.outcome,
      e.principalId,
      e.runId ?? '-',
    ]),
  );
}

export function registerAuditList(audit: Command): void {
  audit
    .command('list')
    .alias('ls')
    .description('list audit entries from a running server, filtered (by run, syscall, outcome, principal)')
    .option('--run <runId>', 'entries of this durable run: calls it made and actions on it')
    .option('--root <runId>', 'entries of every run in the tree of this root run')
    .option('--action <prefix>', 'syscall name prefix (runs. matches every runs syscall)')
    .option('--outcome <outcome>', 'ok, error or denied')
    .option('--principal <id>', 'only calls by this principal')
    .option('--limit <n>', 'at most this many (default 100, max 1000)', parseInteger)
    .option('--newest', 'newest first (default: oldest first, in chain order)')
    .option(
      '--after <seq>',
      'oldest first: the page after this seq (the previous page’s `next`)',
      parseInteger,
    )
    .option('--before <seq>', 'with --newest: the page before this seq', parseInteger)
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option('--key <apiKey>', 'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)')
    .action(async (options: ListOptions, command: Command) => {
      const remote = remoteOf(options, configOf(command));
      const out = outputOf(command);
      const page = await remote.call<AuditPage>('kernel.audit.list', {
        runId: options.run,
        rootRunId: options.root,
        action: options.action,
        outcome: options.outcome,
        principalId: options.principal,
        limit: options.limit,
        // A cursor that does not fit the order is refused by the kernel, naming it.
        order: options.newest ? 'desc' : 'asc',
        afterSeq: options.after,
        beforeSeq: options.before,
      });
      if (page.next !== undefined)
        out.note(`more: repeat with ${options.newest ? '--before' : '--after'} ${page.next}`);
      out.result(page, () => entriesTable(page));
    });
}
