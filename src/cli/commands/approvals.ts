/**
 * @module cli/commands/approvals
 * `strata approvals ls|show|approve|reject` and `strata escalations ls|ack|resolve`, through the
 * `approvals.*` and `escalations.*` syscalls of a running server (capability-checked and audited;
 * a decision is signed and recorded as the caller). `--json` prints the syscall's output; the exit
 * code comes from the error code (E_CONFLICT for a decided approval, E_NOT_FOUND, …).
 */
import { Option, type Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import type { Approval, Escalation } from '../../orchestration/index.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when, type Output } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { remoteOf, type Remote } from '../remote.ts';

type Action<A extends unknown[]> = (io: { remote: Remote; out: Output }, ...args: A) => Promise<void>;

/** Runs `fn` against the server the group's --url/--key (or their defaults) point at. */
const remoteAction =
  <A extends unknown[]>(fn: Action<A>) =>
  async (...args: [...A, Command]): Promise<void> => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
    await fn(
      { remote: remoteOf(opts, configOf(command)), out: outputOf(command) },
      ...(args.slice(0, -1) as A),
    );
  };

function group(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );
}

function describeApproval(a: Approval): string {
  const rows: [string, string][] = [
    ['status', a.status],
    ['question', a.question],
    ['run', `${a.runId} (${a.workflow})`],
    ['approvers', a.approvers.join(', ') || '(anyone allowed to decide)'],
    ['timeout', a.timeoutAt === null ? 'none' : `${when(a.timeoutAt)} → ${a.onTimeout}`],
  ];
  if (a.schema) rows.push(['schema', JSON.stringify(a.schema)]);
  if (a.decidedBy !== null) {
    rows.push(['decided', `${when(a.decidedAt)} by ${a.decidedBy} via ${a.decidedVia ?? ''}`]);
    if (a.reason) rows.push(['reason', a.reason]);
    if (a.value !== undefined) rows.push(['value', JSON.stringify(a.value)]);
    rows.push(['signed', `${a.signedWith ?? ''} ${a.signature ?? ''}`]);
  }
  return [a.id, ...rows.map(([k, v]) => `  ${k.padEnd(9)} ${v}`)].join('\n');
}

function parseValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError('E_BAD_REQUEST', '--value is not valid JSON', undefined, { cause });
  }
}

const decide = (decision: 'approve' | 'reject') =>
  remoteAction(async ({ remote, out }, id: string, options: { reason?: string; value?: string }) => {
    const value = parseValue(options.value);
    const approval = await remote.call<Approval>('approvals.decide', {
      id,
      decision,
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(value === undefined ? {} : { value }),
    });
    out.result(approval, () => describeApproval(approval));
  });

export function registerApprovals(program: Command): void {
  const approvals = group(program, 'approvals', 'approvals runs wait for (ctx.approve) on a running server');
  approvals
    .command('ls')
    .description('list approvals, newest first (default: pending)')
    .addOption(
      new Option('--status <status>', 'which ones').choices(['pending', 'approved', 'rejected', 'all']),
    )
    .option('--all', 'every status (same as --status all)')
    .option('--run <runId>', 'only this run’s')
    .option('--limit <n>', 'at most this many (default 100)', parseInteger)
    .action(
      remoteAction(
        async ({ remote, out }, o: { status?: string; all?: boolean; run?: string; limit?: number }) => {
          const status = o.all ? 'all' : o.status;
          const page = await remote.call<{ approvals: Approval[] }>('approvals.list', {
            status,
            runId: o.run,
            limit: o.limit,
          });
          out.result(page, () =>
            page.approvals.length === 0
              ? 'no approvals'
              : table(
                  ['ID', 'STATUS', 'RUN', 'QUESTION', 'ASKED'],
                  page.approvals.map((a) => [
                    a.id,
                    a.status,
                    a.runId,
                    a.question.slice(0, 60),
                    when(a.createdAt),
                  ]),
                ),
          );
        },
      ),
    );
  approvals
    .command('show')
    .description('show an approval: question, approvers, decision and its signature')
    .argument('<id>')
    .action(
      remoteAction(async ({ remote, out }, id: string) => {
        const approval = await remote.call<Approval>('approvals.get', { id });
        out.result(approval, () => describeApproval(approval));
      }),
    );
  for (const decision of ['approve', 'reject'] as const) {
    approvals
      .command(decision)
      .description(`${decision} a pending approval as the caller (the first decision wins)`)
      .argument('<id>')
      .option('--reason <text>', 'why (recorded, signed and audited)')
      .option('--value <json>', 'the value the approval’s schema asks for (approve only)')
      .action(decide(decision));
  }
  registerEscalations(program);
}

function registerEscalations(program: Command): void {
  const escalations = group(
    program,
    'escalations',
    'escalations (P0–P2) raised by runs, supervisors and budgets',
  );
  escalations
    .command('ls')
    .description('list escalations, most severe first (default: open and acked)')
    .addOption(
      new Option('--status <status>', 'which ones').choices([
        'open',
        'acked',
        'resolved',
        'unresolved',
        'all',
      ]),
    )
    .addOption(new Option('--severity <p>', 'only this severity').choices(['P0', 'P1', 'P2']))
    .action(
      remoteAction(async ({ remote, out }, o: { status?: string; severity?: string }) => {
        const page = await remote.call<{ escalations: Escalation[] }>('escalations.list', o);
        out.result(page, () =>
          page.escalations.length === 0
            ? 'no escalations'
            : table(
                ['ID', 'SEV', 'STATUS', 'COUNT', 'KEY', 'TITLE', 'LAST'],
                page.escalations.map((e) => [
                  e.id,
                  e.severity,
                  e.status,
                  String(e.count),
                  e.key,
                  e.title.slice(0, 50),
                  when(e.lastAt),
                ]),
              ),
        );
      }),
    );
  for (const act of ['ack', 'resolve'] as const) {
    escalations
      .command(act)
      .description(act === 'ack' ? 'acknowledge: stops re-escalation' : 'resolve: closes the item')
      .argument('<id>')
      .action(
        remoteAction(async ({ remote, out }, id: string) => {
          const item = await remote.call<Escalation>(`escalations.${act}`, { id });
          out.result(
            item,
            () => `${item.id} ${item.status} (${item.severity}, ${item.count}×) ${item.title}`,
          );
        }),
      );
  }
}
