/**
 * @module mergequeue/restart
 * What a new worker settles before it runs a queue: git and the store must agree on main (a move
 * recorded in the store but not made in git is finished — its commit passed its check), and the
 * entries a recorded move merged are merged, whatever the worker that moved main managed to write.
 */
import { StrataError } from '../kernel/index.ts';
import type { GitRepository } from './git.ts';
import type { QueueRow } from './rows.ts';

/**
 * Brings git's branch to the store's main: finishes a recorded push, or throws E_NOT_FAST_FORWARD
 * when the branch moved outside the queue (a person must move it back, then resume the queue).
 */
export async function reconcileGit(repo: GitRepository, queue: QueueRow): Promise<void> {
  const onGit = await repo.branchCommit(queue.target);
  if (onGit === queue.mainCommit) return;
  const finishable = await repo.isAncestor(onGit, queue.mainCommit);
  if (finishable && (await repo.compareAndSwap(queue.target, queue.mainCommit, onGit))) return;
  throw new StrataError(
    'E_NOT_FAST_FORWARD',
    `${queue.target} moved outside the merge queue (to ${onGit.slice(0, 12)}); move it back to ${queue.mainCommit.slice(0, 12)} and resume the queue`,
    { branch: queue.target, found: onGit, expected: queue.mainCommit },
  );
}

/** Entry → the commit of main that merged it, from main's recorded moves and their checks' trees. */
export function mergedBy(
  advances: readonly { commit: string; tree: readonly string[] }[],
): Map<string, string> {
  const merged = new Map<string, string>();
  for (const { commit, tree } of advances) for (const id of tree) if (!merged.has(id)) merged.set(id, commit);
  return merged;
}
