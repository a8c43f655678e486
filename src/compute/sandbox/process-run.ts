/**
 * @module compute/sandbox/process-run
 * Runs one host process for a driver: its own process group (killed whole on the wall-time limit
 * or an abort), stdin written then closed, stdout and stderr streamed to callbacks and kept up to
 * a cap. Past the cap the bytes are counted and dropped — the pipe keeps draining, so a command
 * writing gigabytes is neither wedged nor kept in memory — and the kept text ends with a marker
 * saying how much was dropped.
 *
 * Chaos: when the syscall's attempt was chosen for the `oom_kill` fault, the process group is
 * SIGKILLed as soon as it is spawned and the result says `oomKilled`, which the drivers report as
 * the memory limit exceeded, as they do when the cgroup's OOM killer ends a command.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { takeChaosFault } from '../../kernel/chaos/scope.ts';

export interface ProcessRunOptions {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Host working directory of the spawned process. */
  readonly cwd?: string;
  readonly stdin?: string | Uint8Array;
  readonly wallTimeMs: number;
  readonly outputBytes: number;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  readonly signal?: AbortSignal;
  /** Called with the pid (the process group id) once spawned, and with it again on exit. */
  readonly onSpawn?: (pid: number, alive: boolean) => void;
}

export interface ProcessRunResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** Killed as the OOM killer would (an injected `oom_kill` fault). */
  readonly oomKilled: boolean;
  readonly durationMs: number;
}

/** The marker appended to a stream's kept output when bytes were dropped. */
export function truncationMarker(stream: string, kept: number, total: number): string {
  return `\n[strata: ${stream} truncated: kept ${kept} of ${total} bytes]\n`;
}

class Capture {
  readonly #chunks: Buffer[] = [];
  readonly #limit: number;
  readonly #name: string;
  readonly #sink: ((chunk: Buffer) => void) | undefined;
  kept = 0;
  total = 0;

  constructor(name: string, limit: number, sink?: (chunk: Buffer) => void) {
    this.#name = name;
    this.#limit = limit;
    this.#sink = sink;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.#limit - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.kept += part.length;
    this.#sink?.(part);
  }

  get truncated(): boolean {
    return this.total > this.kept;
  }

  text(): string {
    const body = Buffer.concat(this.#chunks).toString('utf8');
    if (!this.truncated) return body;
    const marker = truncationMarker(this.#name, this.kept, this.total);
    this.#sink?.(Buffer.from(marker));
    return body + marker;
  }
}

function signalName(signal: NodeJS.Signals | null): string | null {
  return signal ?? null;
}

/** Maps `128 + n` (how shells and bubblewrap report a signalled child) to the signal's name. */
export function signalFromStatus(code: number | null): string | null {
  if (code === null || code <= 128 || code > 128 + 64) return null;
  const n = code - 128;
  const entry = Object.entries(constants.signals).find(([, value]) => value === n);
  return entry ? entry[0] : null;
}

export function runProcess(options: ProcessRunOptions): Promise<ProcessRunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const stdout = new Capture('stdout', options.outputBytes, options.onStdout);
    const stderr = new Capture('stderr', options.outputBytes, options.onStderr);
    let timedOut = false;
    let aborted = false;
    let oomKilled = false;
    let settled = false;
    const child = spawn(options.file, [...options.args], {
      env: { ...options.env },
      cwd: options.cwd,
      detached: true, // own process group: a kill reaches every descendant still in it
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid, true);
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.wallTimeMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined); // EPIPE when the command does not read its input
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
    let lingering: NodeJS.Timeout | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      if (child.pid !== undefined) options.onSpawn?.(child.pid, false);
      clearTimeout(timer);
      clearTimeout(lingering);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code,
        signal: signalName(signal),
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
        aborted,
        oomKilled,
        durationMs: performance.now() - started,
      });
    };
    child.on('error', (error) => {
      clearTimeout(timer);
      settled = true;
      reject(error);
    });
    child.on('exit', (code, signal) => {
      // A descendant left in the background may hold the pipes open: give it a moment, then end
      // the whole group so the exec returns.
      lingering = setTimeout(() => {
        killGroup();
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, 250);
    });
    child.on('close', (code, signal) => finish(code, signal));
    if (options.signal?.aborted) onAbort();
    if (takeChaosFault('compute', 'oom_kill')) {
      oomKilled = true;
      killGroup();
    }
  });
}
