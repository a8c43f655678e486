/**
 * @module mergequeue/roots
 * Where repositories may live: a queue's repository must resolve (symlinks followed) inside one of
 * the allowed roots, so an agent cannot point the queue at arbitrary directories of the host.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { StrataError } from '../kernel/index.ts';

/** The repository's real path; E_REPOSITORY_NOT_ALLOWED when it is missing or outside the roots. */
export function allowedRepository(path: string, allowedRoots: readonly string[]): string {
  const roots = allowedRoots.map((r) => resolve(r));
  let real: string;
  try {
    real = realpathSync(resolve(path));
  } catch {
    throw new StrataError('E_REPOSITORY_NOT_ALLOWED', `repository ${path} does not exist`, {
      repository: path,
      roots,
    });
  }
  const inside = roots.some((root) => {
    const rel = relative(safeReal(root), real);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  if (!inside) {
    throw new StrataError('E_REPOSITORY_NOT_ALLOWED', `repository ${path} is outside the allowed roots`, {
      repository: path,
      roots,
    });
  }
  return real;
}

function safeReal(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
