/**
 * @module mergequeue/change
 * What a submission stands for: a branch's head commit, or the commit the queue makes from a patch
 * on main (see {@link commitPatch}); or the earlier entry it repeats, so submitting is idempotent.
 */
import { StrataError } from '../kernel/index.ts';
import type { GitRepository } from './git.ts';
import { commitPatch, patchLabel } from './patch.ts';
import type { EntryRow, QueueRow, QueueStore } from './store.ts';

/** A change: exactly one of `branch` (of the queue's repository) or `patch` (a diff or `git format-patch` text). */
export interface SubmitChange {
  readonly queue: string;
  readonly branch?: string;
  readonly patch?: string;
  readonly author: string;
  readonly priority?: number;
  readonly dependsOn?: readonly string[];
}

export interface ChangeWhere {
  readonly rows: QueueStore;
  readonly tenantId: string;
  readonly queue: QueueRow;
  readonly repo: GitRepository;
  /** The id the new entry will get (names a patch's ref). */
  readonly id: string;
}

/**
 * The commit a submission stands for, or the entry it repeats: a branch at the same commit, or
 * the same patch text while its entry is open or merged (a patch becomes a new commit each time).
 */
export async function resolveChange(
  where: ChangeWhere,
  input: SubmitChange,
): Promise<{ branch: string; head: string } | { duplicate: EntryRow & { duplicate: true } }> {
  if ((input.branch === undefined) === (input.patch === undefined)) {
    throw new StrataError('E_INVALID_INPUT', 'submit exactly one of branch or patch', {
      issues: [{ path: ['branch'], message: 'exactly one of branch or patch' }],
    });
  }
  if (input.patch !== undefined) {
    const branch = patchLabel(input.patch);
    const live = await where.rows.entries(where.tenantId, where.queue.id, ['queued', 'testing', 'merged']);
    const same = live.find((e) => e.branch === branch);
    if (same) return { duplicate: { ...same, duplicate: true } };
    const patch = { base: where.queue.mainCommit, patch: input.patch, author: input.author, entry: where.id };
    return { branch, head: await commitPatch(where.repo, patch) };
  }
  const branch = input.branch as string;
  const head = await where.repo.branchCommit(branch);
  const same = await where.rows.entryByChange(where.tenantId, { queue: where.queue.id, branch, head });
  if (same) return { duplicate: { ...same, duplicate: true } };
  if (head === where.queue.mainCommit || (await where.repo.isAncestor(head, where.queue.mainCommit))) {
    throw new StrataError(
      'E_CONFLICT',
      `branch ${branch} has nothing to merge: ${where.queue.target} already has it`,
    );
  }
  return { branch, head };
}
