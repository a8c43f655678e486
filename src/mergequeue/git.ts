/**
 * @module mergequeue/git
 * The git side of the queue, on a bare repository, through the `git` binary.
 *
 * Why the binary rather than a library (isomorphic-git): merges and conflict detection must be the
 * ones users get when they run git themselves (the same merge strategy, rename detection and
 * conflict rules), and `git merge-tree --write-tree` (git >= 2.38) merges without a worktree and
 * names the conflicting files. `git update-ref <ref> <new> <old>` is an atomic compare-and-swap on
 * the branch, which is what a single-writer fast-forward needs. Requires git >= 2.38 on the host.
 */
import { execFile } from 'node:child_process';
import { StrataError } from '../kernel/errors.ts';

const MIN_GIT = [2, 38] as const;

interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GitOptions {
  /** Added to the fixed environment: a temporary index, an author, credentials for a remote. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to git's stdin. */
  readonly input?: string;
}

/** Runs git in `repo`; never throws on a non-zero exit (callers decide what it means). */
export function runGit(repo: string, args: readonly string[], options: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      'git',
      ['-c', 'user.name=Strata merge queue', '-c', 'user.email=mergequeue@strata.invalid', ...args],
      {
        cwd: repo,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'buffer',
        // Only PATH from the host: no user config, no credential prompts, stable messages.
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          GIT_TERMINAL_PROMPT: '0',
          LC_ALL: 'C',
          HOME: '/nonexistent',
          ...options.env,
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new StrataError('E_UNAVAILABLE', `git could not run: ${error.message}`, undefined, {
              cause: error,
            }),
          );
          return;
        }
        resolvePromise({
          code: error ? Number(error.code) : 0,
          stdout: stdout.toString('utf8'),
          stderr: stderr.toString('utf8'),
        });
      },
    );
    if (options.input !== undefined) {
      // git may exit before reading it all (a bad mail); its exit code says what went wrong.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

const run = (repo: string, args: readonly string[]): Promise<GitResult> => runGit(repo, args);

export async function gitOk(
  repo: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<string> {
  const result = await runGit(repo, args, options);
  if (result.code !== 0) {
    throw new StrataError('E_INTERNAL', `git ${args[0] ?? ''} failed: ${result.stderr.trim()}`, {
      args: args.slice(0, 3),
    });
  }
  return result.stdout.trim();
}

/** Checks that git is installed and recent enough; E_UNAVAILABLE says what to install. */
export async function checkGit(): Promise<string> {
  const version = await gitOk(process.cwd(), ['--version']).catch((error: unknown) => {
    throw new StrataError(
      'E_UNAVAILABLE',
      'the merge queue needs the git binary (apt-get install git)',
      undefined,
      {
        cause: error,
      },
    );
  });
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  if (major < MIN_GIT[0] || (major === MIN_GIT[0] && minor < MIN_GIT[1])) {
    throw new StrataError(
      'E_UNAVAILABLE',
      `the merge queue needs git >= 2.38 (merge-tree --write-tree); found ${version}`,
    );
  }
  return version;
}

/** E_INVALID_INPUT unless `branch` is a plain branch name (never an option, never a range). */
export function checkBranchName(branch: string): void {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(branch) || branch.includes('..') || branch.startsWith('-')) {
    throw new StrataError('E_INVALID_INPUT', `not a valid branch name: ${branch}`, { branch });
  }
}

export type MergeResult =
  | { readonly ok: true; readonly commit: string }
  | { readonly ok: false; readonly entry: string; readonly files: readonly string[] };

export class GitRepository {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Whether `path` is a git repository (bare or not). */
  async isRepository(): Promise<boolean> {
    const result = await run(this.path, ['rev-parse', '--git-dir']).catch(() => undefined);
    return result?.code === 0;
  }

  /** The commit a branch points at; E_NOT_FOUND when there is no such branch. */
  async branchCommit(branch: string): Promise<string> {
    checkBranchName(branch);
    const result = await run(this.path, [
      'rev-parse',
      '--verify',
      '--quiet',
      `refs/heads/${branch}^{commit}`,
    ]);
    if (result.code !== 0) {
      throw new StrataError('E_NOT_FOUND', `branch ${branch} does not exist in ${this.path}`, { branch });
    }
    return result.stdout.trim();
  }

  /** Files a change touches relative to where it forked from `base`. */
  async changedFiles(base: string, head: string): Promise<string[]> {
    const forked = await run(this.path, ['diff', '--name-only', '--no-renames', `${base}...${head}`]);
    // Unrelated histories have no fork point: compare the trees instead.
    const out =
      forked.code === 0
        ? forked.stdout.trim()
        : await gitOk(this.path, ['diff', '--name-only', '--no-renames', base, head]);
    return out === '' ? [] : out.split('\n');
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return (await run(this.path, ['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
  }

  /**
   * Merges `heads` (entry id → commit) one after the other onto `base` and records the result as
   * one commit whose first parent is `base`: main's first-parent history then holds only commits
   * the queue checked. Stops at the first conflict and names its files.
   */
  async mergeAll(
    base: string,
    heads: readonly { entry: string; commit: string }[],
    message: string,
  ): Promise<MergeResult> {
    if (heads.length === 0) return { ok: true, commit: base };
    let tree = await gitOk(this.path, ['rev-parse', `${base}^{tree}`]);
    let current = base;
    for (const { entry, commit } of heads) {
      const merged = await run(this.path, [
        'merge-tree',
        '--write-tree',
        '--name-only',
        '--no-messages',
        current,
        commit,
      ]);
      const lines = merged.stdout.trim().split('\n');
      if (merged.code === 1) return { ok: false, entry, files: lines.slice(1).filter((l) => l !== '') };
      if (merged.code !== 0 && /unrelated histories/.test(merged.stderr))
        return { ok: false, entry, files: [] };
      if (merged.code !== 0)
        throw new StrataError('E_INTERNAL', `git merge-tree failed: ${merged.stderr.trim()}`);
      tree = lines[0] as string;
      // A throwaway commit so the next merge sees this one's history as a merge base.
      current = await gitOk(this.path, [
        'commit-tree',
        tree,
        '-p',
        current,
        '-p',
        commit,
        '-m',
        'mq: intermediate',
      ]);
    }
    const parents = [base, ...heads.map((h) => h.commit)].flatMap((p) => ['-p', p]);
    return { ok: true, commit: await gitOk(this.path, ['commit-tree', tree, ...parents, '-m', message]) };
  }

  /** A tar of the commit's tree, for a sandbox's workspace. */
  async archive(commit: string): Promise<Buffer> {
    return new Promise((resolvePromise, reject) => {
      execFile(
        'git',
        ['archive', '--format=tar', commit],
        { cwd: this.path, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 },
        (error, stdout) =>
          error
            ? reject(new StrataError('E_INTERNAL', `git archive failed: ${error.message}`))
            : resolvePromise(stdout),
      );
    });
  }

  /**
   * Moves `branch` from `expected` to `next` atomically; false when the branch no longer points at
   * `expected` (someone else moved it) — git's own compare-and-swap on the ref.
   */
  async compareAndSwap(branch: string, next: string, expected: string): Promise<boolean> {
    const result = await run(this.path, [
      'update-ref',
      '-m',
      'merge queue: fast-forward',
      `refs/heads/${branch}`,
      next,
      expected,
    ]);
    return result.code === 0;
  }

  /** First-parent history of a branch, newest first. */
  async firstParents(branch: string): Promise<string[]> {
    const out = await gitOk(this.path, ['rev-list', '--first-parent', `refs/heads/${branch}`]);
    return out === '' ? [] : out.split('\n');
  }
}
