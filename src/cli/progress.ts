/**
 * @module cli/progress
 * Progress of long commands, on stderr so stdout stays the result: a bar redrawn in place when
 * stderr is a terminal (cli-progress), plain timestamped lines at every tenth otherwise (CI logs,
 * files), and nothing with `--json`. Work under `minTotal` items shows nothing: a bar that flashes
 * for 20 ms is noise.
 *
 * @example
 * const bar = startProgress(out, 'verifying', head.seq);
 * for (...) bar.tick();
 * bar.stop();
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type { Output } from './output.ts';

// cli-progress (16 modules) is required only when a bar is drawn on a terminal, not by every CLI
// command that imports this module; require keeps startProgress synchronous.
const require = createRequire(import.meta.url);

export interface Progress {
  /** `n` more items done. */
  tick(n?: number): void;
  stop(): void;
}

const NONE: Progress = { tick: () => undefined, stop: () => undefined };

export function startProgress(
  out: Output,
  label: string,
  total: number,
  options: { minTotal?: number; stream?: NodeJS.WriteStream } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  if (out.json || total < (options.minTotal ?? 1000)) return NONE;
  let done = 0;
  if (stream.isTTY) {
    const { SingleBar } = require('cli-progress') as typeof CliProgress;
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% {value}/{total} ({eta_formatted} left)`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
    });
    bar.start(total, 0);
    return {
      tick: (n = 1) => bar.update((done += n)),
      stop: () => bar.stop(),
    };
  }
  let nextTenth = 1;
  const line = (): void =>
    void stream.write(
      `${new Date().toISOString()} ${label}: ${done}/${total} (${Math.floor((done / total) * 100)}%)\n`,
    );
  return {
    tick: (n = 1) => {
      done += n;
      while (done >= (total * nextTenth) / 10 && nextTenth <= 10) {
        nextTenth++;
        line();
      }
    },
    stop: () => {
      if (done < total) line();
    },
  };
}
