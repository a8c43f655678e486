/**
 * @module cli/commands/sandbox
 * `strata sandbox create|exec|ls|cp|snapshot|restore|pause|resume|rm`: sandboxes on a running
 * server (`strata up`), through the `sandbox.*` syscalls, so every action is capability-checked
 * and audited. Ephemeral sandboxes live as long as the server; persistent ones survive restarts.
 *
 * `exec` prints the command's stdout and stderr as they were captured and exits with the command's
 * exit code (128 + n for a signal); with `--json` it prints the whole result instead.
 * `cp` copies a file or directory between this machine and a sandbox: `<sandbox>:<path>` names the
 * sandbox side (`strata sandbox cp ./src box:app`, `strata sandbox cp box:out.txt .`).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { isStrataError, StrataError } from '../../kernel/errors.ts';
import { configOf, outputOf } from '../context.ts';
import { table, when, type Output } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { remoteOf, type Remote } from '../remote.ts';

interface Info {
  id: string;
  name: string | null;
  kind: string;
  driver: string;
  state: string;
  createdAt: number;
  lastUsedAt: number;
  snapshots: { id: string; bytes: number; createdAt: number }[];
}

interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  exceeded: string[];
}

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
    const io = { remote: remoteOf(opts, configOf(command)), out: outputOf(command) };
    await fn(io, ...(args.slice(0, -1) as A));
  };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const MiB = 1024 * 1024;

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new StrataError('E_BAD_REQUEST', `--env ${pair}: expected NAME=value`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** `box:path` → { sandbox, path }; a plain path (or one starting with . or /) is local. */
function sandboxSide(spec: string): { sandbox: string; path: string } | undefined {
  const match = /^([a-z0-9][a-z0-9._-]{0,99}):(.*)$/i.exec(spec);
  if (!match || spec.startsWith('.') || spec.startsWith('/')) return undefined;
  return { sandbox: match[1] as string, path: match[2] as string };
}

function describe(info: Info): string {
  return [
    info.id,
    `  name      ${info.name ?? '-'}`,
    `  kind      ${info.kind} (${info.driver})`,
    `  state     ${info.state}`,
    `  created   ${when(info.createdAt)}`,
    `  snapshots ${info.snapshots.length}`,
  ].join('\n');
}

interface CreateOptions {
  name?: string;
  persistent?: boolean;
  runtime?: string[];
  memory?: number;
  cpu?: number;
  pids?: number;
  wall?: number;
  disk?: number;
  allow?: string[];
  driver?: string;
}

async function copy({ remote, out }: Io, from: string, to: string): Promise<void> {
  const source = sandboxSide(from);
  const target = sandboxSide(to);
  if ((source === undefined) === (target === undefined)) {
    throw new StrataError('E_BAD_REQUEST', 'exactly one side of cp must be <sandbox>:<path>');
  }
  if (target) {
    const local = resolve(from);
    if (!existsSync(local)) throw new StrataError('E_NOT_FOUND', `no such local file ${from}`);
    if (statSync(local).isDirectory()) {
      const chunks: Buffer[] = [];
      const tar = await import('tar'); // only `cp` of a directory needs it, not every CLI command
      for await (const chunk of tar.c({ cwd: dirname(local), gzip: true, portable: true }, [
        basename(local),
      ]) as AsyncIterable<Buffer>)
        chunks.push(chunk);
      await remote.call('sandbox.files.upload', {
        sandbox: target.sandbox,
        tar: Buffer.concat(chunks).toString('base64'),
        dest: target.path,
      });
      out.result({ copied: from, to }, () => `copied directory ${from} to ${to}/${basename(local)}`);
      return;
    }
    const content = await readFile(local);
    const path =
      target.path === '' || target.path.endsWith('/') ? `${target.path}${basename(local)}` : target.path;
    await remote.call('sandbox.files.write', {
      sandbox: target.sandbox,
      path,
      content: content.toString('base64'),
      encoding: 'base64',
    });
    out.result({ copied: from, to, bytes: content.length }, () => `copied ${content.length} bytes to ${to}`);
    return;
  }
  const side = source as { sandbox: string; path: string };
  try {
    const file = await remote.call<{ content: string }>('sandbox.files.read', {
      sandbox: side.sandbox,
      path: side.path,
      encoding: 'base64',
    });
    const data = Buffer.from(file.content, 'base64');
    const dest = existsSync(to) && statSync(to).isDirectory() ? join(to, basename(side.path)) : to;
    await writeFile(dest, data);
    out.result(
      { copied: from, to: dest, bytes: data.length },
      () => `copied ${data.length} bytes to ${dest}`,
    );
  } catch (error) {
    // A directory: fetch it as a tar and extract it under the local target directory.
    if (!isStrataError(error) || error.code !== 'E_CONFLICT') throw error;
    const archive = await remote.call<{ tar: string }>('sandbox.files.download', {
      sandbox: side.sandbox,
      path: side.path,
    });
    await mkdir(to, { recursive: true });
    const tar = await import('tar');
    await pipeline(Readable.from([Buffer.from(archive.tar, 'base64')]), tar.x({ cwd: to }));
    out.result({ copied: from, to }, () => `copied directory ${from} into ${to}`);
  }
}

export function registerSandbox(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('isolated sandboxes (bubblewrap) on a running server: create, exec, copy files, snapshot')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  sandbox
    .command('create')
    .description('create a sandbox; prints its id')
    .option('--name <name>', 'a name (required with --persistent)')
    .option('--persistent', 'a workspace on disk that survives server restarts (default: ephemeral tmpfs)')
    .option('--runtime <name>', 'mount a runtime: sh, python3, node (repeatable; default sh)', collect)
    .option('--memory <MiB>', 'memory limit in MiB', parseInteger)
    .option('--cpu <seconds>', 'CPU seconds per process', parseInteger)
    .option('--pids <n>', 'processes at once', parseInteger)
    .option('--wall <ms>', 'wall time per exec in ms', parseInteger)
    .option('--disk <MiB>', 'workspace size in MiB', parseInteger)
    .option('--allow <host:port>', 'allow egress to host:port through the proxy (repeatable)', collect)
    .option('--driver <name>', 'sandbox driver (default bubblewrap)')
    .action(
      remoteAction(async ({ remote, out }, options: CreateOptions) => {
        const limits: Record<string, number> = {};
        if (options.memory !== undefined) limits['memoryBytes'] = options.memory * MiB;
        if (options.cpu !== undefined) limits['cpuSeconds'] = options.cpu;
        if (options.pids !== undefined) limits['pids'] = options.pids;
        if (options.wall !== undefined) limits['wallTimeMs'] = options.wall;
        if (options.disk !== undefined) limits['workspaceBytes'] = options.disk * MiB;
        const info = await remote.call<Info>('sandbox.create', {
          kind: options.persistent ? 'persistent' : 'ephemeral',
          name: options.name,
          driver: options.driver,
          runtimes: options.runtime,
          limits: Object.keys(limits).length > 0 ? limits : undefined,
          network: options.allow ? { allow: options.allow } : undefined,
        });
        out.result(info, () => info.id);
      }),
    );

  sandbox
    .command('exec')
    .description('run a command in a sandbox; exits with its exit code (one argument runs with sh -c)')
    .argument('<sandbox>', 'id or name')
    .argument('<command...>', 'the command (put it after --)')
    .option('--cwd <path>', 'working directory inside the workspace')
    .option('--env <NAME=value>', 'environment variable (repeatable; redacted from the audit log)', collect)
    .option('--timeout <ms>', 'wall time for this exec', parseInteger)
    .option('--stdin', 'pass this process’s stdin to the command')
    .action(
      async (
        id: string,
        words: string[],
        options: { cwd?: string; env?: string[]; timeout?: number; stdin?: boolean },
        command: Command,
      ) => {
        const remote = remoteOf(command.optsWithGlobals<{ url?: string; key?: string }>(), configOf(command));
        const out = outputOf(command);
        let stdin: string | undefined;
        if (options.stdin) {
          const chunks: Buffer[] = [];
          for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
          stdin = Buffer.concat(chunks).toString('utf8');
        }
        const result = await remote.call<ExecResult>('sandbox.exec', {
          sandbox: id,
          command: words.length === 1 ? words[0] : words,
          cwd: options.cwd,
          env: options.env ? parseEnv(options.env) : undefined,
          stdin,
          timeoutMs: options.timeout,
        });
        if (out.json) out.result(result, () => '');
        else {
          process.stdout.write(result.stdout);
          process.stderr.write(result.stderr);
          if (result.exceeded.length > 0)
            process.stderr.write(`strata: limit exceeded: ${result.exceeded.join(', ')}\n`);
        }
        const signal =
          result.signal === null ? 0 : ((constants.signals as Record<string, number>)[result.signal] ?? 0);
        process.exitCode = result.exitCode ?? 128 + signal;
      },
    );

  sandbox
    .command('ls')
    .description('list sandboxes')
    .action(
      remoteAction(async ({ remote, out }) => {
        const { sandboxes } = await remote.call<{ sandboxes: Info[] }>('sandbox.list', {});
        out.result({ sandboxes }, () =>
          sandboxes.length === 0
            ? 'no sandboxes'
            : table(
                ['ID', 'NAME', 'KIND', 'STATE', 'LAST USED'],
                sandboxes.map((s) => [s.id, s.name ?? '-', s.kind, s.state, when(s.lastUsedAt)]),
              ),
        );
      }),
    );

  sandbox
    .command('get')
    .description('show a sandbox')
    .argument('<sandbox>', 'id or name')
    .action(
      remoteAction(async ({ remote, out }, id: string) => {
        const info = await remote.call<Info>('sandbox.get', { sandbox: id });
        out.result(info, () => describe(info));
      }),
    );

  sandbox
    .command('cp')
    .description('copy a file or directory to or from a sandbox (<sandbox>:<path> names the sandbox side)')
    .argument('<from>')
    .argument('<to>')
    .action(remoteAction(copy));

  sandbox
    .command('snapshot')
    .description('snapshot a sandbox’s workspace; prints the snapshot id (its content hash)')
    .argument('<sandbox>', 'id or name')
    .action(
      remoteAction(async ({ remote, out }, id: string) => {
        const snap = await remote.call<{ id: string; bytes: number }>('sandbox.snapshot', { sandbox: id });
        out.result(snap, () => snap.id);
      }),
    );

  sandbox
    .command('restore')
    .description('replace a sandbox’s workspace with a snapshot')
    .argument('<sandbox>', 'id or name')
    .argument('<snapshot>', 'snapshot id')
    .action(
      remoteAction(async ({ remote, out }, id: string, snapshot: string) => {
        const result = await remote.call('sandbox.restore', { sandbox: id, snapshot });
        out.result(result, () => `restored ${id} to ${snapshot}`);
      }),
    );

  for (const action of ['pause', 'resume'] as const) {
    sandbox
      .command(action)
      .description(
        action === 'pause' ? 'pause a sandbox (frozen; the next exec resumes it)' : 'resume a paused sandbox',
      )
      .argument('<sandbox>', 'id or name')
      .action(
        remoteAction(async ({ remote, out }, id: string) => {
          const result = await remote.call(`sandbox.${action}`, { sandbox: id });
          out.result(result, () => `${action}d ${id}`);
        }),
      );
  }

  sandbox
    .command('rm')
    .description('destroy sandboxes (their workspaces are deleted)')
    .argument('<sandbox...>', 'ids or names')
    .action(
      remoteAction(async ({ remote, out }, ids: string[]) => {
        for (const id of ids) await remote.call('sandbox.destroy', { sandbox: id });
        out.result({ removed: ids }, () => ids.map((id) => `removed ${id}`).join('\n'));
      }),
    );
}
