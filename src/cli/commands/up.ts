/**
 * @module cli/commands/up
 * `strata up`: open the runtime, create the default tenant on first start, serve HTTP, run durable
 * runs in an in-process worker (workflows from `--workflows <module>`), and run until SIGINT or
 * SIGTERM, then shut down gracefully (stop accepting, stop the worker, drain in-flight calls, flush
 * the audit log, close the store) and exit 0. A second signal during the drain exits at once.
 *
 * The server module is imported only here, lazily, so other commands never load the HTTP stack.
 * Logs go to stderr so that stdout carries only what the command prints (with --json, exactly one
 * document once the server listens, which scripts and tests wait for).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/index.ts';
import type { installSignalHandlers, ServerHandle } from '../../server/index.ts';
import type { WorkflowDefinition } from '../../orchestration/index.ts';
import type { BootstrapResult } from '../../server/runtime.ts';
import { configOf, outputOf } from '../context.ts';
import type { Output } from '../output.ts';
import { parseInteger } from '../parse.ts';

interface UpOptions {
  host?: string;
  port?: number;
  bodyLimit?: number;
  workflows?: string;
  concurrency?: number;
}

/**
 * Waits for the server's own signal handling (first SIGINT/SIGTERM: graceful close, which also
 * closes the runtime; second: exit at once). We take over only the final exit, so the command
 * returns normally and the CLI's usual exit-code path (and stdout flushing) applies.
 */
function untilStopped(
  install: typeof installSignalHandlers,
  handle: ServerHandle,
  logger: Logger,
): Promise<void> {
  return new Promise((resolveStopped, reject) => {
    install(handle, {
      logger,
      exit: (code) => {
        if (code === 0) resolveStopped();
        else if (code === 1) reject(new StrataError('E_INTERNAL', 'graceful shutdown failed; see the log'));
        else process.exit(code); // the second signal: the user wants out now
      },
    });
  });
}

interface Started {
  readonly url: string;
  readonly boot: BootstrapResult;
  readonly keyFile: string | null;
  readonly workflows: readonly WorkflowDefinition[];
}

function printStarted(out: Output, { url, boot, keyFile, workflows }: Started): void {
  const names = workflows.map((w) => `${w.name}@${w.version}`);
  const dashboard = `${url}/ui`;
  out.result({ url, dashboard, tenantId: boot.tenantId, adminKeyFile: keyFile, workflows: names }, () => {
    const lines: string[] = [];
    if (boot.adminKey !== undefined) {
      lines.push(
        `Created tenant "default" (${boot.tenantId}) and its admin API key, shown only once:`,
        `  ${boot.adminKey}`,
        `Saved to ${boot.adminKeyFile ?? keyFile ?? '?'} (mode 0600); the CLI on this machine uses it by default.`,
        '',
      );
    }
    if (names.length > 0) lines.push(`Workflows: ${names.join(', ')}`);
    lines.push(`Strata is listening on ${url}  (Ctrl-C to stop)`);
    lines.push(`Dashboard: ${dashboard}  (log in with the admin API key)`);
    return lines.join('\n');
  });
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start the Strata server (creates the default tenant and admin key on first start)')
    .option('--host <host>', 'interface to listen on (env STRATA_HOST; default 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 for any free port (env STRATA_PORT; default 7070)', parseInteger)
    .option(
      '--body-limit <bytes>',
      'largest request body accepted (env STRATA_BODY_LIMIT_BYTES)',
      parseInteger,
    )
    .option('--workflows <module>', 'a .ts or .js module whose exported workflow definitions are registered')
    .option(
      '--concurrency <n>',
      'runs the in-process worker executes at once (env STRATA_WORKER_CONCURRENCY; default 10)',
      parseInteger,
    )
    .action(async (options: UpOptions, command: Command) => {
      const out = outputOf(command);
      const config = configOf(command, {
        'server.host': options.host,
        'server.port': options.port,
        'server.bodyLimitBytes': options.bodyLimit,
        'orchestration.concurrency': options.concurrency,
      });
      const { createLogger } = await import('../../kernel/index.ts'); // pino: for the server only
      const logger = createLogger({ level: config.log.level, destination: process.stderr });
      const server = await import('../../server/index.ts');
      // Loaded before the database is opened: a bad module fails fast and changes nothing.
      const workflows = options.workflows === undefined ? [] : await server.loadWorkflows(options.workflows);
      const { bootstrapDefaultTenant, openRuntime } = await import('../../server/runtime.ts');
      const runtime = await openRuntime({ config, logger, workflows, worker: true });
      let handle: ServerHandle;
      let boot: BootstrapResult;
      try {
        boot = await bootstrapDefaultTenant(runtime);
        handle = await server.startServer({
          runtime,
          host: config.server.host,
          port: config.server.port,
          logger,
        });
      } catch (error) {
        await runtime.close();
        throw error;
      }
      const stopped = untilStopped(server.installSignalHandlers, handle, logger);
      const keyFile = join(resolve(config.dataDir), 'admin.key');
      const adminKeyFile = boot.adminKeyFile ?? (existsSync(keyFile) ? keyFile : null);
      printStarted(out, { url: handle.url, boot, keyFile: adminKeyFile, workflows });
      await stopped;
    });
}
