/**
 * Real git repositories for the merge queue tests: a bare repository (what the queue serves) and a
 * work clone the "agents" commit in and push branches from. Git runs with a fixed identity and no
 * user configuration, so the tests behave the same on every machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ENV = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  LC_ALL: 'C',
  GIT_AUTHOR_NAME: 'Agent',
  GIT_AUTHOR_EMAIL: 'agent@example.invalid',
  GIT_COMMITTER_NAME: 'Agent',
  GIT_COMMITTER_EMAIL: 'agent@example.invalid',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();
}

export interface Fixture {
  readonly root: string;
  /** The bare repository, inside `root/repos` (the allowed root). */
  readonly bare: string;
  readonly allowedRoot: string;
  /** Commits `files` on a new branch forked from `from` (default main) and pushes it. */
  branch(name: string, files: Record<string, string>, from?: string): string;
  mainLog(): string[];
  cleanup(): void;
}

export function createFixture(initial: Record<string, string>): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'strata-mq-'));
  const allowedRoot = join(root, 'repos');
  const bare = join(allowedRoot, 'app.git');
  const work = join(root, 'work');
  mkdirSync(allowedRoot);
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  git(root, 'init', '-q', '-b', 'main', work);
  write(work, initial);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '-q', 'origin', 'main');
  return {
    root,
    bare,
    allowedRoot,
    branch(name, files, from = 'main') {
      git(work, 'fetch', '-q', 'origin');
      git(work, 'checkout', '-q', '-B', name, `origin/${from}`);
      write(work, files);
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', `change ${name}`);
      git(work, 'push', '-q', '-f', 'origin', name);
      return git(work, 'rev-parse', 'HEAD');
    },
    mainLog: () => git(bare, 'rev-list', '--first-parent', 'main').split('\n'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

function write(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}
