/**
 * @module cli/commands/runs
 * `strata runs start|get|list|signal|cancel|retry|bulk|logs`: durable runs, steered through the
 * `runs.*` syscalls of a running server (`strata up --workflows <module>`), since workflows live in the
 * server process. Every command is therefore capability-checked and audited like any other call.
 * Options `--url` and `--key` belong to the `runs` group and may be given anywhere on the line.
 */
import type { Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import type { Run } from '../../orchestration/index.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when, type Output } from '../output.ts';
import { parseInteger, parseSignedInteger } from '../parse.ts';
import { remoteOf, type Remote } from '../remote.ts';
import { readInput } from './call-input.ts';
import { addBulkOptions, bulkAction, parseAction } from './runs-bulk.ts';
import { addFilterOptions, filterOf, flagsOf, type FilterFlags } from './runs-filter.ts';
import { followLogs, printLogs } from './runs-logs.ts';

function parseJson(text: string, flag: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError('E_BAD_REQUEST', `${flag} is not valid JSON`, undefined, { cause });
  }
}

function describeRun(run: Run): string {
  const rows: [string, string][] = [
    ['status', run.status],
    ['workflow', `${run.workflow}@${run.version} (queue ${run.queue}, priority ${run.priority})`],
    ['attempt', `${run.attempt} of ${run.maxAttempts}`],
    ['created', when(run.createdAt)],
    ['finished', when(run.finishedAt)],
  ];
  if (run.parentId !== null) rows.push(['parent', run.parentId]);
  if (run.costMicros > 0) rows.push(['cost', `${run.costMicros} µ`]);
  if (run.output !== undefined) rows.push(['output', JSON.stringify(run.output)]);
  if (run.error !== undefined) rows.push(['error', `${run.error.code}: ${run.error.message}`]);
  return [run.id, ...rows.map(([k, v]) => `  ${k.padEnd(9)} ${v}`)].join('\n');
}

/** Where an action sends its calls and prints its results. */
interface Io {
  readonly remote: Remote;
  readonly out: Output;
}

/** Runs `fn` against the server the group's --url/--key (or their defaults) point at. */
function remoteAction<A extends unknown[]>(
  fn: (io: Io, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
    const io = { remote: remoteOf(opts, configOf(command)), out: outputOf(command) };
    await fn(io, ...(args.slice(0, -1) as A));
  };
}

/** An action that sends `{ runId }` to a syscall answering with a run, and shows the run. */
const showRun =
  (syscall: string) =>
  async ({ remote, out }: Io, runId: string): Promise<void> => {
    const run = await remote.call<Run>(syscall, { runId });
    out.result(run, () => describeRun(run));
  };

interface StartOptions {
  input?: string;
  inputFile?: string;
  idempotencyKey?: string;
  priority?: number;
  delay?: number;
  queue?: string;
  workflowVersion?: number;
  project?: string;
}

interface ListOptions extends FilterFlags {
  limit?: number;
  after?: string;
}

export function registerRuns(program: Command): void {
  const runs = program
    .command('runs')
    .description('start, inspect and steer durable runs on a running server (strata up --workflows …)')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  runs
    .command('start')
    .description('start a run of a workflow registered on the server')
    .argument('<workflow>', 'workflow name')
    .option('--input <json>', 'input as JSON, or - to read it from stdin (default: {})')
    .option('--input-file <file>', 'read the input JSON from a file (- for stdin)')
    .option('--idempotency-key <key>', 'a second start with the same key returns the first run')
    .option('--priority <n>', 'higher runs first (default: the workflow’s)', parseSignedInteger)
    .option('--delay <ms>', 'start no earlier than this many milliseconds from now', parseInteger)
    .option('--queue <name>', 'queue (default: the workflow’s)')
    .option('--workflow-version <n>', 'a specific registered version (default: the latest)', parseInteger)
    .option('--project <name>', 'cost-per-task label of the run tree (see strata cost)')
    .action(
      remoteAction(async ({ remote, out }, workflow: string, options: StartOptions) => {
        const input = await readInput(options);
        const run = await remote.call<Run>('runs.start', {
          workflow,
          input,
          version: options.workflowVersion,
          idempotencyKey: options.idempotencyKey,
          priority: options.priority,
          queue: options.queue,
          delayMs: options.delay,
          project: options.project,
        });
        out.result(run, () => describeRun(run));
      }),
    );

  runs
    .command('get')
    .description('show a run: status, output or error, attempts')
    .argument('<runId>')
    .action(remoteAction(showRun('runs.get')));

  addFilterOptions(
    runs.command('list').alias('ls').description('list runs, newest first, filtered by the flags below'),
  )
    .option('--limit <n>', 'at most this many (default 50, max 1000)', parseInteger)
    .option('--after <runId>', 'the page after this run (the previous page’s `next`)')
    .action(
      remoteAction(async ({ remote, out }, options: ListOptions) => {
        const filter = { ...filterOf(options), limit: options.limit, after: options.after };
        const page = await remote.call<{ runs: Run[]; next?: string }>('runs.list', filter);
        if (page.next !== undefined)
          out.note(`more: strata runs list ${flagsOf(options)} --after ${page.next}`.replace(/ +/g, ' '));
        out.result(page, () =>
          page.runs.length === 0
            ? 'no runs'
            : table(
                ['ID', 'WORKFLOW', 'STATUS', 'ATTEMPT', 'CREATED'],
                page.runs.map((r) => [
                  r.id,
                  `${r.workflow}@${r.version}`,
                  r.status,
                  `${r.attempt}/${r.maxAttempts}`,
                  when(r.createdAt),
                ]),
              ),
        );
      }),
    );

  runs
    .command('signal')
    .description('send a signal to a run waiting with ctx.waitFor(name)')
    .argument('<runId>')
    .argument('<name>', 'signal name')
    .option('--payload <json>', 'payload as JSON (default: null)')
    .action(
      remoteAction(async ({ remote, out }, runId: string, name: string, options: { payload?: string }) => {
        const payload = options.payload === undefined ? null : parseJson(options.payload, '--payload');
        const run = await remote.call<Run>('runs.signal', { runId, name, payload });
        out.result(run, () => `sent "${name}" to ${run.id} (${run.status})`);
      }),
    );

  runs
    .command('cancel')
    .description('cancel a run and its children')
    .argument('<runId>')
    .action(remoteAction(showRun('runs.cancel')));

  runs
    .command('retry')
    .description('re-queue a failed or cancelled run; it resumes from its journal')
    .argument('<runId>')
    .action(remoteAction(showRun('runs.retry')));

  addBulkOptions(
    addFilterOptions(
      runs
        .command('bulk')
        .description('cancel or retry every run the filter flags select: a preview, then --yes')
        .argument('<action>', 'cancel or retry', parseAction),
    ),
  ).action(remoteAction(bulkAction));

  runs
    .command('logs')
    .description('print a run’s timeline; --follow until it ends (exit code: the run’s outcome)')
    .argument('<runId>')
    .option('-f, --follow', 'keep printing new entries until the run is completed, failed or cancelled')
    .action(
      remoteAction(async ({ remote, out }, runId: string, options: { follow?: boolean }) =>
        options.follow === true ? followLogs(remote, runId, out) : printLogs(remote, runId, out),
      ),
    );
}
