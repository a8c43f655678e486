/**
 * @module cli/commands/browser
 * `strata browser open|goto|extract|shot|log|close`: browser sessions live in the server process
 * (a running `strata up`), so these commands are calls to the `browser.*` syscalls over HTTP —
 * capability-checked and audited like any other call. `shot` writes a PNG file: a new screenshot,
 * or with `--seq` the one stored after that action of the log.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ActionRecord, ActionResult, SessionInfo } from '../../compute/index.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when, type Output } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { remoteOf, type Remote } from '../remote.ts';

interface Io {
  readonly remote: Remote;
  readonly out: Output;
}

function remoteAction<A extends unknown[]>(
  fn: (io: Io, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
    await fn(
      { remote: remoteOf(opts, configOf(command)), out: outputOf(command) },
      ...(args.slice(0, -1) as A),
    );
  };
}

function describeSession(session: SessionInfo): string {
  const rows: [string, string][] = [
    ['status', `${session.status}${session.closeReason === null ? '' : ` (${session.closeReason})`}`],
    ['allow', session.allowUrls.join(' ')],
    ['created', when(session.createdAt)],
    ['actions', String(session.actions)],
  ];
  if (session.profile !== null) rows.push(['profile', session.profile]);
  return [session.id, ...rows.map(([k, v]) => `  ${k.padEnd(8)} ${v}`)].join('\n');
}

const describeAction = (action: ActionResult): string =>
  `#${action.seq} ${action.status === undefined ? '' : `${action.status} `}${action.url} — ${action.title}`;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerBrowser(program: Command): void {
  const browser = program
    .command('browser')
    .description('drive headless browser sessions on a running server (strata up)')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  browser
    .command('open')
    .description('open a session limited to the allowed URL patterns; prints its id')
    .requiredOption(
      '--allow <pattern>',
      'allowed URL pattern, repeatable (https://example.com, https://*.x.org/docs/*)',
      collect,
    )
    .option('--profile <name>', 'a named persistent profile whose cookies and storage survive sessions')
    .option('--goto <url>', 'navigate there once open')
    .action(
      remoteAction(async ({ remote, out }, options: { allow: string[]; profile?: string; goto?: string }) => {
        const opened = await remote.call<{ session: SessionInfo; navigation?: ActionResult }>(
          'browser.open',
          {
            allowUrls: options.allow,
            persistentContext: options.profile,
            url: options.goto,
          },
        );
        out.result(opened, () =>
          [
            describeSession(opened.session),
            ...(opened.navigation ? [describeAction(opened.navigation)] : []),
          ].join('\n'),
        );
      }),
    );

  browser
    .command('goto')
    .description('navigate a session to a URL (refused outside its allow-list)')
    .argument('<sessionId>')
    .argument('<url>')
    .option('--timeout <ms>', 'how long to wait for the page to load', parseInteger)
    .action(
      remoteAction(async ({ remote, out }, sessionId: string, url: string, options: { timeout?: number }) => {
        const action = await remote.call<ActionResult>('browser.goto', {
          sessionId,
          url,
          timeoutMs: options.timeout,
        });
        out.result(action, () => describeAction(action));
      }),
    );

  browser
    .command('extract')
    .description('print the page as Markdown-ish text')
    .argument('<sessionId>')
    .action(
      remoteAction(async ({ remote, out }, sessionId: string) => {
        const page = await remote.call<ActionResult & { text: string }>('browser.extract', { sessionId });
        out.result(page, () => page.text);
      }),
    );

  browser
    .command('shot')
    .description('save a PNG screenshot: a new one, or with --seq the one taken after that action')
    .argument('<sessionId>')
    .option('-o, --out <file>', 'PNG file to write (default <sessionId>-<seq>.png)')
    .option('--seq <n>', 'the stored screenshot of action n of the log', parseInteger)
    .option('--full-page', 'the whole page, not only the viewport')
    .action(
      remoteAction(
        async (
          { remote, out },
          sessionId: string,
          options: { out?: string; seq?: number; fullPage?: boolean },
        ) => {
          const shot =
            options.seq === undefined
              ? await remote.call<{ seq: number; png: string }>('browser.screenshot', {
                  sessionId,
                  fullPage: options.fullPage,
                  inline: true,
                })
              : await remote.call<{ seq: number; png: string }>('browser.shot', {
                  sessionId,
                  seq: options.seq,
                });
          const png = Buffer.from(shot.png, 'base64');
          const file = resolve(options.out ?? `${sessionId}-${shot.seq}.png`);
          writeFileSync(file, png);
          const summary = { sessionId, seq: shot.seq, file, bytes: png.length };
          out.result(summary, () => `wrote ${file} (${png.length} bytes, action #${shot.seq})`);
        },
      ),
    );

  browser
    .command('log')
    .description('show a session and its action log')
    .argument('<sessionId>')
    .action(
      remoteAction(async ({ remote, out }, sessionId: string) => {
        const log = await remote.call<{ session: SessionInfo; actions: ActionRecord[] }>('browser.log', {
          sessionId,
        });
        out.result(log, () =>
          [
            describeSession(log.session),
            table(
              ['SEQ', 'ACTION', 'OK', 'MS', 'URL', 'DETAIL'],
              log.actions.map((a) => [
                String(a.seq),
                a.kind,
                a.ok ? 'ok' : (a.error?.code ?? 'failed'),
                String(a.durationMs),
                a.url ?? '',
                JSON.stringify(a.detail),
              ]),
            ),
          ].join('\n'),
        );
      }),
    );

  browser
    .command('close')
    .description('close a session (its log and screenshots stay)')
    .argument('<sessionId>')
    .action(
      remoteAction(async ({ remote, out }, sessionId: string) => {
        const session = await remote.call<SessionInfo>('browser.close', { sessionId });
        out.result(session, () => describeSession(session));
      }),
    );
}
