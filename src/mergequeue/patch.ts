/**
 * @module mergequeue/patch
 * A patch submitted to the queue becomes a commit on the target's current main, made by git
 * itself, and is kept under `refs/mq/patches/<entry>` (so gc keeps it); from then on the queue
 * treats it exactly like a branch head.
 *
 * How: `git apply --cached` into a temporary index read from main (`GIT_INDEX_FILE`), then
 * `write-tree` and `commit-tree`. No worktree is needed, so it works on the bare repository and
 * leaves nothing behind but the ref. A `git format-patch` text (it starts with `From <sha>`) is
 * split by `git mailinfo` first, so its author, date and message are kept as `git am` would keep
 * them; a plain diff is committed with the submitter as author.
 *
 * A patch that does not apply is refused at submit (E_PATCH_REJECTED, naming the files) rather
 * than queued and sent to rework: the submitter is waiting on the call and can fix it right away,
 * and the queue never holds a change with no commit to build. (A patch that applied but later
 * conflicts with main goes to needs_rework like any branch.)
 *
 * The patch text only ever reaches git as a file named on the argv; no shell runs.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../kernel/errors.ts';
import { gitOk, runGit, type GitRepository } from './git.ts';

/** The largest patch accepted (bytes of text). */
export const MAX_PATCH_BYTES = 1024 * 1024;

/** The label an entry made from a patch shows instead of a branch name. */
export const patchLabel = (patch: string): string =>
  `patch:${createHash('sha256').update(patch).digest('hex').slice(0, 16)}`;

export const patchRef = (entry: string): string => `refs/mq/patches/${entry}`;

export interface PatchCommit {
  readonly base: string;
  readonly patch: string;
  /** Who submitted it: the author of a plain diff. */
  readonly author: string;
  /** The entry id, naming the ref the commit is kept under. */
  readonly entry: string;
}

/** Applies the patch on `base` and returns the new commit; E_PATCH_REJECTED when it does not apply. */
export async function commitPatch(repo: GitRepository, input: PatchCommit): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-mq-patch-'));
  try {
    const env = { env: { GIT_INDEX_FILE: join(dir, 'index') } };
    let diff = join(dir, 'source.patch');
    await writeFile(diff, input.patch);
    let identity: Record<string, string> = {
      GIT_AUTHOR_NAME: input.author,
      GIT_AUTHOR_EMAIL: `${input.author.replace(/[^A-Za-z0-9._-]/g, '_')}@strata.invalid`,
    };
    let message = `Patch submitted by ${input.author}`;
    if (input.patch.startsWith('From ')) {
      diff = join(dir, 'body.patch');
      const mail = await gitOk(repo.path, ['mailinfo', join(dir, 'message'), diff], { input: input.patch });
      identity = fromMailinfo(mail, identity);
      const subject = /^Subject: (.*)$/m.exec(mail)?.[1] ?? message;
      const body = (await readFile(join(dir, 'message'), 'utf8')).trim();
      message = body === '' ? subject : `${subject}\n\n${body}`;
    }
    await gitOk(repo.path, ['read-tree', input.base], env);
    const applied = await runGit(repo.path, ['apply', '--cached', '--', diff], env);
    if (applied.code !== 0) throw rejected(applied.stderr);
    const tree = await gitOk(repo.path, ['write-tree'], env);
    if (tree === (await gitOk(repo.path, ['rev-parse', `${input.base}^{tree}`]))) {
      throw new StrataError('E_CONFLICT', 'the patch changes nothing: main already has it');
    }
    // The -c identity run() passes is the committer; the author comes from the env.
    const commit = await gitOk(repo.path, ['commit-tree', tree, '-p', input.base, '-m', message], {
      env: identity,
    });
    await gitOk(repo.path, ['update-ref', patchRef(input.entry), commit, '']);
    return commit;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Author, email and date from `git mailinfo`'s summary; the submitter when the mail has none. */
function fromMailinfo(summary: string, fallback: Record<string, string>): Record<string, string> {
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(summary)?.[1]?.trim();
  const name = field('Author');
  const email = field('Email');
  const date = field('Date');
  return {
    GIT_AUTHOR_NAME: name ?? fallback['GIT_AUTHOR_NAME'] ?? '',
    GIT_AUTHOR_EMAIL: email ?? fallback['GIT_AUTHOR_EMAIL'] ?? '',
    ...(date ? { GIT_AUTHOR_DATE: date } : {}),
  };
}

/** git apply's complaint, turned into a stable error naming the files it could not patch. */
function rejected(stderr: string): StrataError {
  const files = new Set<string>();
  for (const line of stderr.split('\n')) {
    const m = /^error: (.+?): (?:patch does not apply|does not exist in index|already exists in index)$/.exec(
      line.trim(),
    );
    if (m?.[1]) files.add(m[1]);
  }
  const first = stderr.trim().split('\n')[0] ?? '';
  return new StrataError(
    'E_PATCH_REJECTED',
    files.size > 0
      ? `the patch does not apply to main: ${[...files].join(', ')}`
      : `the patch is not a valid diff (${first.replace(/^error: /, '')})`,
    { files: [...files] },
  );
}
