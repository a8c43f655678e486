/**
 * @module compute/drivers/process
 * Plain child processes with the sandbox API, for development on machines without bubblewrap.
 * It isolates NOTHING: commands run as the server's user, see the whole filesystem and network,
 * and can read every secret the server can. Only wall time, CPU seconds and address space are
 * limited (rlimits), and output is capped. It therefore refuses to be constructed unless
 * `allowInsecure: true`, and logs a warning every time it prepares a sandbox.
 */
import { mkdir } from 'node:fs/promises';
import { StrataError } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { runProcess, signalFromStatus } from '../../sandbox/process-run.ts';
import type {
  ExecResult,
  LimitName,
  PrepareRequest,
  RunRequest,
  SandboxDriver,
  SandboxRunner,
  SandboxSpec,
} from '../../sandbox/types.ts';

export interface ProcessDriverOptions {
  /** Must be `true`: this driver gives no isolation. */
  readonly allowInsecure?: boolean;
  readonly logger?: Logger;
}

export const INSECURE_WARNING =
  'INSECURE: the process sandbox driver runs commands as the server user with full access to the host filesystem, network and secrets; use it only for development';

const LAUNCHER =
  'ulimit -S -t "$2"; ulimit -H -t "$1"; if [ "$3" != - ]; then ulimit -v "$3"; fi; shift 3; exec "$@"';

export class ProcessDriver implements SandboxDriver {
  readonly name = 'process';
  readonly isolated = false;
  readonly #logger: Logger | undefined;

  constructor(options: ProcessDriverOptions = {}) {
    if (options.allowInsecure !== true) {
      throw new StrataError(
        'E_INSECURE_DRIVER',
        'the process sandbox driver isolates nothing (commands run as the server user, with its files, network and secrets); pass allowInsecure: true to use it anyway',
        { driver: 'process' },
      );
    }
    this.#logger = options.logger;
  }

  runtimes(): readonly string[] {
    return ['sh', 'python3', 'node'];
  }

  check(): Promise<void> {
    if (process.platform === 'win32') {
      return Promise.reject(
        new StrataError('E_UNAVAILABLE', 'the process driver needs a POSIX shell', { driver: this.name }),
      );
    }
    return Promise.resolve();
  }

  async prepare(request: PrepareRequest): Promise<SandboxRunner> {
    this.#logger?.warn({ sandbox: request.id, driver: this.name }, INSECURE_WARNING);
    await mkdir(request.workspaceDir, { recursive: true });
    return new ProcessRunner(request.spec, request.workspaceDir);
  }
}

class ProcessRunner implements SandboxRunner {
  readonly #spec: SandboxSpec;
  readonly #workspace: string;
  readonly #active = new Set<number>();

  constructor(spec: SandboxSpec, workspace: string) {
    this.#spec = spec;
    this.#workspace = workspace;
  }

  async run(request: RunRequest): Promise<ExecResult> {
    const { limits } = this.#spec;
    // Node and V8 reserve far more address space than they use: no RLIMIT_AS for them.
    const memoryKb = this.#spec.runtimes.includes('node')
      ? '-'
      : String(Math.ceil(limits.memoryBytes / 1024));
    const result = await runProcess({
      file: '/bin/sh',
      args: [
        '-c',
        LAUNCHER,
        'launcher',
        String(limits.cpuSeconds + 1),
        String(limits.cpuSeconds),
        memoryKb,
        ...request.argv,
      ],
      cwd: request.cwd,
      env: {
        PATH: `${process.env['PATH'] ?? '/usr/bin:/bin'}`,
        HOME: this.#workspace,
        LANG: 'C.UTF-8',
        ...request.env,
      },
      stdin: request.stdin,
      wallTimeMs: request.wallTimeMs,
      outputBytes: limits.outputBytes,
      onStdout: request.onStdout,
      onStderr: request.onStderr,
      signal: request.signal,
      onSpawn: (pid, alive) => (alive ? this.#active.add(pid) : this.#active.delete(pid)),
    });
    const signal = result.signal ?? signalFromStatus(result.exitCode);
    const exceeded: LimitName[] = [];
    if (result.timedOut) exceeded.push('wall');
    if (signal === 'SIGXCPU') exceeded.push('cpu');
    if (result.oomKilled) exceeded.push('memory');
    if (result.truncated) exceeded.push('output');
    return {
      exitCode: signal === null ? result.exitCode : null,
      signal: result.timedOut || result.aborted || result.oomKilled ? 'SIGKILL' : signal,
      stdout: result.stdout,
      stderr: result.stderr,
      durationMs: result.durationMs,
      stdoutBytes: result.stdoutBytes,
      stderrBytes: result.stderrBytes,
      truncated: result.truncated,
      exceeded,
    };
  }

  freeze(frozen: boolean): Promise<void> {
    for (const pid of this.#active) {
      try {
        process.kill(-pid, frozen ? 'SIGSTOP' : 'SIGCONT');
      } catch {
        // gone
      }
    }
    return Promise.resolve();
  }

  dispose(): Promise<void> {
    for (const pid of this.#active) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    return Promise.resolve();
  }
}
