/**
 * @module cli/context
 * What a command needs before it can act: the global flags, the configuration and the runtime.
 * Configuration follows the kernel's order (defaults → config file → `STRATA_*` env → flags); the
 * global flags `--config`, `--data-dir` and `--database` are the flag layer. Commands that touch
 * state run inside {@link withRuntime}, which always closes the runtime (flushing the audit log and
 * ending database pools) even when the command fails, so the process exits on its own.
 */
import type { Command } from 'commander';
import { loadConfig, type StrataConfig } from '../kernel/config.ts';
import type { Tenant } from '../kernel/index.ts';
import type { Runtime } from '../server/runtime.ts';
import { createOutput, type Output } from './output.ts';

export interface GlobalOptions {
  readonly config?: string;
  readonly dataDir?: string;
  readonly database?: string;
  readonly json: boolean;
}

export function globalsOf(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{
    config?: string;
    dataDir?: string;
    database?: string;
    json?: boolean;
  }>();
  return { config: opts.config, dataDir: opts.dataDir, database: opts.database, json: opts.json === true };
}

export function outputOf(command: Command): Output {
  return createOutput(globalsOf(command).json);
}

/** The configuration for this invocation; `overrides` are extra dotted keys from command flags. */
export function configOf(command: Command, overrides: Record<string, unknown> = {}): StrataConfig {
  const globals = globalsOf(command);
  return loadConfig({
    file: globals.config,
    env: process.env,
    overrides: { dataDir: globals.dataDir, databaseUrl: globals.database, ...overrides },
  });
}

/** Opens the runtime, runs `fn`, and closes the runtime whatever happens. */
export async function withRuntime<T>(
  command: Command,
  fn: (runtime: Runtime, out: Output) => Promise<T>,
): Promise<T> {
  const out = outputOf(command);
  // Imported here, not at the top: the runtime loads every layer (~2.5 s of CPU), and commands that
  // talk to a running server never need it.
  const { openRuntime } = await import('../server/runtime.ts');
  const runtime = await openRuntime({ config: configOf(command) });
  try {
    return await fn(runtime, out);
  } finally {
    await runtime.close();
  }
}

/** A tenant by name or id (`ten_…`); E_NOT_FOUND otherwise. */
export function tenantOf(runtime: Runtime, idOrName: string): Promise<Tenant> {
  return runtime.kernel.principals.getTenant(idOrName);
}
