/**
 * The bubblewrap sandbox a worker works an issue in, through the compute layer's syscalls: it
 * reproduces the bug there (Python), then clones the shop's repository, applies its patch and runs
 * the patch's tests (`node --test`), and submits the fix only if they pass (fix-issue.ts). The
 * sandbox has no network (none was granted) and mounts nothing of the host: the repository comes
 * in as a git bundle on the exec's stdin, written to the workspace and cloned from there, and the
 * patch in the command itself (a here-document): the tests are one exec, one syscall more per
 * issue than reproducing alone (a syscall can take seconds on 2 busy cores with 50 agents).
 *
 * Durable: every call is a journaled syscall, so a replay returns what a completed call
 * returned without making it again. A call cut off by a crash is made again on replay; every
 * command here starts from a clean slate (`rm -rf shop` before the clone), so making one twice is
 * safe. The sandbox belongs to the process that made it: a run resumed elsewhere after its worker
 * died finds it gone (E_NOT_FOUND) and makes a new one, where the interrupted step starts again.
 */
import { isStrataError } from '../../src/kernel/index.ts';
import type { WorkflowContext } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import { reproduceScript, type Issue } from './issues.ts';
import { readShopBundle, SPRINT_BASE } from './shop-repo.ts';

interface Exec {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  exceeded: string[];
}

/** What the worker's test run in its sandbox said. */
export interface WorkerTests {
  readonly passed: boolean;
  /** The test files it ran: the ones its patch adds or changes. */
  readonly files: string[];
  /** Tests that passed and failed, as `node --test` counted them. */
  readonly pass: number;
  readonly fail: number;
  /** When they did not pass: the failing tests and the end of stderr (why it was not submitted). */
  readonly tail: string | null;
}

/** Python for the reproduction, Node for the tests (git is under /usr); no network. */
const SPEC = { runtimes: ['python3', 'node'], network: 'none' } as const;

export class IssueSandbox {
  readonly #ctx: WorkflowContext;
  #id: string | undefined;
  /** Sandboxes found gone (their process died) and made again. */
  lost = 0;

  constructor(ctx: WorkflowContext) {
    this.#ctx = ctx;
  }

  /** Runs `use` in the sandbox, in a new one when it is gone (up to 3 times). */
  async use<T>(use: (sandbox: string) => Promise<T>): Promise<T> {
    for (;;) {
      this.#id ??= (await this.#ctx.syscall<{ id: string }>('sandbox.create', SPEC)).id;
      try {
        return await use(this.#id);
      } catch (error) {
        if (!isStrataError(error) || error.code !== 'E_NOT_FOUND' || ++this.lost > 2) throw error;
        this.#id = undefined; // what ran in it is gone with it: the step starts again in a new one
      }
    }
  }

  exec(sandbox: string, command: string, options: { stdin?: string; timeoutMs: number }): Promise<Exec> {
    return this.#ctx.syscall<Exec>('sandbox.exec', { sandbox, command, ...options });
  }

  /** Not in a finally: an execution abandoned mid-step must not tear down what replay uses. */
  async destroy(): Promise<void> {
    if (this.#id === undefined) return;
    try {
      await this.#ctx.syscall('sandbox.destroy', { sandbox: this.#id });
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_NOT_FOUND') throw error; // gone with its process
    }
  }
}

/** The issue's first command hangs when the fault plan says so; retries run the real script. */
function commandFor(plan: FaultPlan, index: number, issue: Issue, attempt: number): string {
  if (attempt === 1 && plan.sandboxHangs(index)) return 'sleep 30'; // past the exec's wall time: killed
  return `python3 -c '${reproduceScript(issue)}'`;
}

/** Recomputes the order in Python to reproduce the overcharge, up to 3 tries. */
export async function reproduce(box: IssueSandbox, plan: FaultPlan, index: number, issue: Issue) {
  for (let attempt = 1; ; attempt++) {
    const command = commandFor(plan, index, issue, attempt);
    const run = await box.use((sandbox) => box.exec(sandbox, command, { timeoutMs: 4000 }));
    if (run.exitCode === 0) {
      const [total = 0, diff = 0] = run.stdout.trim().split(/\s+/).map(Number);
      return { total, diff, attempts: attempt };
    }
    if (attempt >= 3) throw new Error(`sandbox: reproduction failed 3 times (${run.signal ?? run.exitCode})`);
  }
}

/** The test files a patch adds or changes. */
export const patchTests = (patch: string): string[] =>
  [...patch.matchAll(/^\+\+\+ b\/(test\/[\w./-]+\.test\.js)$/gm)].map((m) => m[1] ?? '');

const counted = (stdout: string, what: 'pass' | 'fail'): number =>
  Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(stdout)?.[1] ?? 0);

/** Ends the patch's here-document: a line no patch of the shop has. */
const PATCH_END = 'STRATA_PATCH_END';

/**
 * Clones the shop at the commit the fix is written against (`sprint-base`: the worker tests its
 * change; testing it on main as main has moved is the queue's job), applies the patch and runs the
 * patch's own tests with `node --test`, in one process.
 *
 * Which tests: the ones the patch brings, not the shop's whole suite. The whole suite, on main with
 * the change, is the merge queue's check, and the issue wants the queue to be what names the three
 * seeded fixes that break the shop: each passes its own test here, but changes the shop's shared
 * line price when loaded, which only the shop's checkout test (loading every fix) sees
 * (shop-repo.ts). Not for speed: `node test/all.js` costs about what one test file does here (one
 * Node process either way). Measured alone on 2 cores at load 11–15, the whole exec (bundle in,
 * clone, apply, `node --test`) takes 0.22–0.25 s, less than the Python reproduction (0.3–0.5 s).
 *
 * A run the sandbox ended at its wall time says nothing about the fix: made again, up to 3 times.
 */
export async function testPatch(
  box: IssueSandbox,
  fix: { patch: string; dataDir: string },
): Promise<WorkerTests> {
  const files = patchTests(fix.patch);
  if (files.length === 0) return { passed: false, files, pass: 0, fail: 0, tail: 'the patch brings no test' };
  if (fix.patch.includes(PATCH_END)) throw new Error(`a patch may not contain ${PATCH_END}`);
  // Not journaled: the bundle never changes once made, and what depends on it (the exec) is.
  const bundle = readShopBundle(fix.dataDir);
  const command = [
    'set -e',
    'rm -rf shop shop.bundle fix.patch', // a clean slate: making this again is safe
    'base64 -d > shop.bundle', // the repository, from stdin
    `cat > fix.patch <<'${PATCH_END}'`,
    fix.patch.replace(/\n$/, ''),
    PATCH_END,
    `git -c advice.detachedHead=false clone -q -b ${SPRINT_BASE} shop.bundle shop`,
    'cd shop',
    'git apply --index ../fix.patch',
    `node --test --test-isolation=none --test-reporter=tap ${files.join(' ')}`,
  ].join('\n');
  for (let attempt = 1; ; attempt++) {
    const run = await box.use((sandbox) => box.exec(sandbox, command, { stdin: bundle, timeoutMs: 30_000 }));
    if (run.exceeded.includes('wall') && attempt < 3) continue;
    const [pass, fail] = [counted(run.stdout, 'pass'), counted(run.stdout, 'fail')];
    const passed = run.exitCode === 0 && pass > 0 && fail === 0;
    const failing = run.stdout.split('\n').filter((line) => /^\s*not ok /.test(line));
    const tail = passed ? null : [...failing, run.stderr.trim().slice(-300)].join('\n').trim();
    return { passed, files, pass, fail, tail };
  }
}
