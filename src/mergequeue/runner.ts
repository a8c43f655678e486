/**
 * @module mergequeue/runner
 * Runs a queue's check command on one commit in a fresh Strata sandbox: the commit's tree (from
 * `git archive`) is uploaded into an ephemeral workspace, the command runs with the queue's wall
 * time and network policy (none by default; a queue may allow `host:port` entries, reached only
 * through the compute layer's egress proxy, which refuses every other destination), and the sandbox is destroyed whatever happens. A check that hangs is ended
 * by the sandbox's wall-time limit and reported as a failure marked `timedOut`, so the queue is
 * never wedged by it.
 */
import type { NetworkPolicy, SandboxManager } from '../compute/index.ts';

export interface CheckRun {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** stdout and stderr, capped (the tail is kept: failures print last). */
  readonly log: string;
  readonly durationMs: number;
}

export interface CheckJob {
  readonly tenantId: string;
  readonly command: string;
  readonly timeoutMs: number;
  readonly runtimes: readonly string[];
  /** `none`, or the `host:port` entries the check may reach through the sandbox's egress proxy. */
  readonly network: NetworkPolicy;
  /** A tar of the tree to check. */
  readonly tree: Buffer;
}

/** What the queue needs to run a check; the default is {@link sandboxRunner}. */
export type CheckRunner = (job: CheckJob) => Promise<CheckRun>;

const LOG_CAP = 64 * 1024;

export function sandboxRunner(sandboxes: Pick<SandboxManager, 'create'>): CheckRunner {
  return async (job) => {
    const started = Date.now();
    const box = await sandboxes.create(
      {
        kind: 'ephemeral',
        runtimes: [...job.runtimes],
        limits: { wallTimeMs: job.timeoutMs },
        network: job.network,
      },
      job.tenantId,
    );
    try {
      await box.files.upload(job.tree);
      const result = await box.exec(job.command, { timeoutMs: job.timeoutMs });
      const timedOut = result.exceeded.includes('wall');
      const text = `${result.stdout}${result.stderr === '' ? '' : `\n--- stderr ---\n${result.stderr}`}${
        timedOut ? `\n--- timed out after ${job.timeoutMs} ms ---` : ''
      }`;
      return {
        ok: result.exitCode === 0 && !timedOut,
        exitCode: result.exitCode,
        timedOut,
        log: text.length > LOG_CAP ? `…${text.slice(-LOG_CAP)}` : text,
        durationMs: Date.now() - started,
      };
    } finally {
      await box.destroy();
    }
  };
}

/** Runs a check on a commit's tree; a check that could not run at all is a failed run, with why. */
export async function runQueueCheck(
  runner: CheckRunner,
  job: Omit<CheckJob, 'tree'>,
  archive: () => Promise<Buffer>,
): Promise<CheckRun> {
  try {
    return await runner({ ...job, tree: await archive() });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      exitCode: null,
      timedOut: false,
      log: `the check could not run: ${why}`,
      durationMs: 0,
    };
  }
}
