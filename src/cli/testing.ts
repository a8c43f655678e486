/**
 * @module cli/testing
 * Test helpers that run the real `strata` CLI as a child process, so exit codes, stdout and stderr
 * are exactly what a user sees. Each spawn costs ~150-250 ms (Node start plus module loading), so
 * tests share data directories where they can.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configSchema, type Principal } from '../kernel/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(REPO_ROOT, 'src/cli/main.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Written to the child's stdin, which is then closed. */
  readonly stdin?: string;
  readonly env?: Record<string, string>;
}

/** The environment without STRATA_* variables, so the developer's own settings never leak in. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('STRATA_')) env[name] = value;
  }
  return { ...env, ...extra };
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolveResult({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Parses the single JSON document a `--json` command printed on stdout. */
export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** A CLI bound to one fresh data directory; `dispose()` removes it. */
export function tempCli(extraArgs: readonly string[] = []): {
  readonly dataDir: string;
  run(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  /** Runs with --json, asserts exit 0 and returns the parsed document. */
  json<T = Record<string, unknown>>(args: readonly string[], options?: CliOptions): Promise<T>;
  readonly dispose: () => void;
} {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
  const run = (args: readonly string[], options?: CliOptions): Promise<CliResult> =>
    runCli(['--data-dir', dataDir, ...extraArgs, ...args], options);
  return {
    dataDir,
    run,
    async json<T>(args: readonly string[], options?: CliOptions): Promise<T> {
      const result = await run([...args, '--json'], options);
      if (result.code !== 0)
        throw new Error(`strata ${args.join(' ')} exited ${result.code}: ${result.stdout}${result.stderr}`);
      return jsonOf<T>(result);
    },
    dispose: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

export interface RunningServer {
  /** The first line `strata up --json` printed, parsed. */
  readonly started: { url: string; tenantId: string; adminKeyFile: string | null; workflows: string[] };
  /** Everything the server wrote to stderr (its log) so far. */
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `strata --data-dir <dataDir> up --port 0 --json …args` and resolves once it listens. */
export async function startUp(dataDir: string, args: readonly string[] = []): Promise<RunningServer> {
  const argv = [MAIN, '--data-dir', dataDir, 'up', '--port', '0', '--json', ...args];
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: cleanEnv({ STRATA_LOG_LEVEL: 'warn' }),
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  const line = await new Promise<string>((resolveLine, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolveLine(stdout.slice(0, stdout.indexOf('\n')));
    });
    void exited.then((code) => reject(new Error(`strata up exited ${code} before listening:\n${stderr}`)));
  });
  return {
    started: JSON.parse(line) as RunningServer['started'],
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Makes tenant `tenant` and an API key granted everything in `dataDir`, in process (each CLI spawn
 * costs a second or more), runs `setup` as that key, and returns the env a CLI run needs.
 */
export async function seedAdminKey(
  dataDir: string,
  options: { tenant?: string; setup?: (runtime: Runtime, principal: Principal) => Promise<void> } = {},
): Promise<{ STRATA_API_KEY: string }> {
  return withTestRuntime(dataDir, async (runtime) => {
    const tenant = await runtime.kernel.principals.createTenant(options.tenant ?? 'acme');
    const { key } = await runtime.kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'cli',
      grants: [{ syscall: '*', resource: '*' }],
    });
    await options.setup?.(runtime, await runtime.kernel.authenticate({ apiKey: key }));
    return { STRATA_API_KEY: key };
  });
}

/**
 * Opens the runtime a CLI command would open on `dataDir` (and `databaseUrl`), runs `fn`, closes
 * it. Seeding a test's state this way costs one runtime instead of a CLI process per command; keep
 * the CLI for the commands under test.
 */
export async function withTestRuntime<T>(
  dataDir: string,
  fn: (runtime: Runtime) => Promise<T>,
  databaseUrl?: string,
): Promise<T> {
  const runtime = await openRuntime({ config: configSchema.parse({ dataDir, databaseUrl }) });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}
