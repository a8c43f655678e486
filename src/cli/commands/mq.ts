/**
 * @module cli/commands/mq
 * `strata mq configure|submit|ls|show|cancel|pause|resume|stats`: the merge queue through the
 * `mq.*` syscalls of a running server (`strata up`, whose worker runs the checks), so every call
 * is capability-checked and audited. `--json` prints the syscall's output.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when } from '../output.ts';
import { remoteOf, type Remote } from '../remote.ts';
import { readSource } from './call-input.ts';

interface Entry {
  id: string;
  branch: string;
  author: string;
  state: string;
  reason: string;
  checks: number;
  createdAt: number;
  duplicate?: boolean;
  overlaps?: { entry: string; files: string[] }[];
  conflictFiles?: string[] | null;
}

interface Stop {
  code: string;
  reason: string;
  at: number;
}

const stopLine = (queue: string, stop: Stop): string =>
  `queue stopped ${when(stop.at)} (${stop.code}): ${stop.reason}\nentries wait; after fixing it run: strata mq resume ${queue}`;

const int = (text: string): number => {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected an integer');
  return n;
};

const remote = (command: Command): Remote =>
  remoteOf(command.optsWithGlobals<{ url?: string; key?: string }>(), configOf(command));

const renderEntry = (e: Entry): string =>
  [
    `${e.id}  ${e.branch}  by ${e.author}`,
    `state: ${e.state} (${e.reason})`,
    ...(e.overlaps?.length
      ? [
          `warning: touches the same files as ${e.overlaps.map((o) => `${o.entry} (${o.files.join(', ')})`).join('; ')}`,
        ]
      : []),
    ...(e.conflictFiles?.length ? [`conflicting files: ${e.conflictFiles.join(', ')}`] : []),
    ...(e.duplicate ? ['(already submitted at this commit)'] : []),
  ].join('\n');

export function registerMq(program: Command): void {
  const mq = program
    .command('mq')
    .description('merge queue: submit changes, watch them merge, see why one was rejected')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );
  mq.command('configure <queue>')
    .description('create or update the queue of a repository branch')
    .requiredOption('--repo <path|url>', 'bare git repository under <dataDir>/repos, or an https URL')
    .option('--credential <name>', 'for a URL: the vault connection holding its password or token')
    .option('--username <name>', 'for a URL: the user name sent with the credential (default x-access-token)')
    .option('--target <branch>', 'the branch the queue moves', 'main')
    .requiredOption('--check <command>', 'the check command, run in a fresh sandbox at the repository root')
    .option('--timeout <ms>', 'check wall time', int)
    .option('--runtime <name...>', 'runtimes mounted in the sandbox (default sh node)')
    .option(
      '--allow-host <host:port...>',
      'what the check may reach through the egress proxy (default nothing)',
    )
    .option('--batch-min <n>', 'smallest batch', int)
    .option('--batch-max <n>', 'largest batch', int)
    .action(async (queue: string, o: Record<string, unknown>, command: Command) => {
      const batch = {
        ...(o['batchMin'] === undefined ? {} : { min: o['batchMin'] }),
        ...(o['batchMax'] === undefined ? {} : { max: o['batchMax'] }),
      };
      const out = await remote(command).call<{ id: string; target: string; mainCommit: string }>(
        'mq.configure',
        {
          queue,
          repository: o['repo'],
          target: o['target'],
          check: {
            command: o['check'],
            timeoutMs: o['timeout'],
            runtimes: o['runtime'],
            ...(o['allowHost'] === undefined ? {} : { network: { allow: o['allowHost'] } }),
          },
          ...(Object.keys(batch).length > 0 ? { batch } : {}),
          ...(o['credential'] === undefined
            ? {}
            : { auth: { credential: o['credential'], username: o['username'] } }),
        },
      );
      outputOf(command).result(
        out,
        () => `queue ${out.id} moves ${out.target} (now at ${out.mainCommit.slice(0, 12)})`,
      );
    });
  mq.command('submit <queue> [branch]')
    .description('submit a branch of the queue’s repository, or a patch (--patch)')
    .option('--patch <file>', 'a unified diff or git format-patch file (- reads stdin), instead of a branch')
    .option('--author <name>', 'who to send rework to (default the caller)')
    .option('--priority <n>', 'higher goes first', int)
    .option('--depends-on <id...>', 'entries that must merge first')
    .action(
      async (
        queue: string,
        branch: string | undefined,
        o: { patch?: string; author?: string; priority?: number; dependsOn?: string[] },
        command: Command,
      ) => {
        if ((branch === undefined) === (o.patch === undefined))
          throw new StrataError('E_INVALID_INPUT', 'give a branch or --patch <file|->, not both');
        const { patch: file, ...rest } = o;
        const change = file === undefined ? { branch } : { patch: await readSource(file) };
        const entry = await remote(command).call<Entry>('mq.submit', { queue, ...change, ...rest });
        outputOf(command).result(entry, () => renderEntry(entry));
      },
    );
  mq.command('ls <queue>')
    .description('entries of a queue, in submission order')
    .option('--state <state...>', 'only these states (queued testing merged rejected needs_rework cancelled)')
    .action(async (queue: string, o: { state?: string[] }, command: Command) => {
      const out = await remote(command).call<{ entries: Entry[]; stopped: Stop | null }>('mq.list', {
        queue,
        ...(o.state ? { states: o.state } : {}),
      });
      outputOf(command).result(
        out,
        () =>
          (out.stopped === null ? '' : `${stopLine(queue, out.stopped)}\n`) +
          table(
            ['ID', 'BRANCH', 'AUTHOR', 'STATE', 'CHECKS', 'SUBMITTED', 'REASON'],
            out.entries.map((e) => [
              e.id,
              e.branch,
              e.author,
              e.state,
              String(e.checks),
              when(e.createdAt),
              e.reason,
            ]),
          ),
      );
    });
  mq.command('show <queue> <id>')
    .description('one entry: state, history with reasons, checks, and the failing log when rejected')
    .action(async (queue: string, id: string, _o: unknown, command: Command) => {
      type Shown = {
        entry: Entry;
        history: { from: string; to: string; reason: string; at: number }[];
        checks: { id: string; purpose: string; outcome: string | null; timedOut: boolean }[];
        failingLog: string | null;
      };
      const out = await remote(command).call<Shown>('mq.show', { queue, id });
      outputOf(command).result(out, () =>
        [
          renderEntry(out.entry),
          '',
          ...out.history.map((h) => `${when(h.at)}  ${h.from} -> ${h.to}  ${h.reason}`),
          '',
          ...out.checks.map(
            (c) =>
              `check ${c.id} (${c.purpose}): ${c.outcome ?? 'running'}${c.timedOut ? ', timed out' : ''}`,
          ),
          ...(out.failingLog === null ? [] : ['', '--- failing log ---', out.failingLog]),
        ].join('\n'),
      );
    });
  mq.command('cancel <queue> <id>')
    .description('take an entry out of the queue')
    .option('--reason <text>', 'recorded with the transition')
    .action(async (queue: string, id: string, o: { reason?: string }, command: Command) => {
      const entry = await remote(command).call<Entry>('mq.cancel', { queue, id, ...o });
      outputOf(command).result(entry, () => renderEntry(entry));
    });
  for (const [name, syscall] of [
    ['pause', 'mq.pause'],
    ['resume', 'mq.resume'],
  ] as const) {
    mq.command(`${name} <queue>`)
      .description(
        name === 'pause'
          ? 'start no new batches (running checks finish)'
          : 'resume a paused queue, or a stopped one (the only way it runs again)',
      )
      .action(async (queue: string, _o: unknown, command: Command) => {
        const out = await remote(command).call<{ id: string; paused: boolean }>(syscall, { queue });
        outputOf(command).result(out, () => `queue ${out.id} ${out.paused ? 'paused' : 'running'}`);
      });
  }
  mq.command('stats <queue>')
    .description('head-of-line blocker, checks per merge, bisections, flakes, culprits, queue time')
    .action(async (queue: string, _o: unknown, command: Command) => {
      const s = await remote(command).call<Record<string, unknown>>('mq.stats', { queue });
      outputOf(command).result(s, () =>
        Object.entries(s)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join('\n'),
      );
    });
}
