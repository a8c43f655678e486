/**
 * @module cli/commands/call-input
 * Where `strata syscalls call` gets its input and its credentials from.
 *
 * Credentials, first found wins: `--key`, env `STRATA_API_KEY`, then `<dataDir>/admin.key` (written
 * by `strata up` on first start, mode 0600). A `--token` alone authenticates as the token's subject;
 * with a key it narrows that key. The admin key file is not used when a token is given without a
 * key, because the kernel would refuse the pair unless the token was issued to the admin key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Credentials, StrataConfig } from '../../kernel/index.ts';
import { StrataError } from '../../kernel/errors.ts';
import { configOf, withRuntime } from '../context.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A file's text, or stdin's for `-`; E_NOT_FOUND names the file it cannot read. */
export async function readSource(path: string): Promise<string> {
  if (path === '-') return readStdin();
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new StrataError('E_NOT_FOUND', `cannot read input file ${path}`, { file: path }, { cause });
  }
}

/** The call's input: --input JSON, --input -, --input-file F|-, or `{}`. */
export async function readInput(options: { input?: string; inputFile?: string }): Promise<unknown> {
  if (options.input !== undefined && options.inputFile !== undefined) {
    throw new StrataError('E_BAD_REQUEST', 'pass either --input or --input-file, not both');
  }
  const from = options.inputFile !== undefined ? 'input file' : '--input';
  const text =
    options.inputFile !== undefined
      ? await readSource(options.inputFile)
      : options.input === '-'
        ? await readStdin()
        : (options.input ?? '{}');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // The message names the source only: the text may hold secrets meant for a secret() field.
    throw new StrataError('E_BAD_REQUEST', `${from} is not valid JSON`, undefined, { cause });
  }
}

export function credentialsFor(options: { key?: string; token?: string }, config: StrataConfig): Credentials {
  const apiKey = options.key ?? (process.env['STRATA_API_KEY'] || undefined);
  if (apiKey !== undefined) return { apiKey, token: options.token };
  if (options.token !== undefined) return { token: options.token };
  const file = join(resolve(config.dataDir), 'admin.key');
  if (existsSync(file)) return { apiKey: readFileSync(file, 'utf8').trim() };
  throw new StrataError(
    'E_UNAUTHENTICATED',
    `no API key: pass --key, set STRATA_API_KEY, or run \`strata up\` once to create ${file}`,
  );
}

export interface AuthOptions {
  key?: string;
  token?: string;
}

/** Runs a syscall in process as the caller's key or token: grants are checked, the call audited. */
export async function callAs(
  command: Command,
  auth: AuthOptions,
  name: string,
  input: unknown,
): Promise<unknown> {
  const credentials = credentialsFor(auth, configOf(command));
  return withRuntime(command, async (runtime) => {
    const principal = await runtime.kernel.authenticate(credentials);
    return runtime.kernel.call(name, input, { principal });
  });
}

/** One JSON object with --json, else the human rendering. */
export function print(command: Command, data: unknown, human: () => string): void {
  const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
  const text = json ? JSON.stringify(data) : human();
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function withAuth(cmd: Command): Command {
  return cmd
    .option('--key <apiKey>', 'API key (default: env STRATA_API_KEY, then <dataDir>/admin.key)')
    .option('--token <token>', 'capability token');
}
