/**
 * @module mergequeue/configure
 * Creates or updates a queue's row: the repository (inside the allowed roots), the target branch,
 * the check (command, timeout, runtimes, network policy) and batch sizes. The network policy is the
 * compute layer's: `none` (the default) or an allow-list of `host:port` entries that the check's
 * sandbox reaches only through its egress proxy — validated with the compute layer's own schema,
 * so the queue accepts exactly what a sandbox can enforce.
 */
import { specInputSchema, type NetworkPolicy } from '../compute/index.ts';
import { StrataError, type Clock } from '../kernel/index.ts';
import { checkGit, GitRepository } from './git.ts';
import { isRemoteUrl, remoteUrl, repositoryOf, type RemoteAuth, type RepositoryAccess } from './remote.ts';
import { allowedRepository } from './roots.ts';
import type { QueueRow, QueueStore } from './store.ts';

export interface ConfigureInput {
  readonly queue: string;
  readonly repository: string;
  readonly target: string;
  readonly check: {
    readonly command: string;
    readonly timeoutMs?: number;
    readonly runtimes?: readonly string[];
    /** What the check may reach. @default 'none' */
    readonly network?: NetworkPolicy;
  };
  readonly batch?: { readonly min?: number; readonly max?: number };
  /** For a remote URL: the vault connection holding its credentials (see {@link RemoteAuth}). */
  readonly auth?: RemoteAuth;
}

/** The sandbox spec's network field: `'none'` or `{ allow: ['host:port' | 'host:*', …] }`. */
export const checkNetworkSchema = specInputSchema.shape.network.unwrap();

/** Validates a check's network policy; E_INVALID_INPUT names the bad entries. */
export function parseCheckNetwork(input: unknown): NetworkPolicy {
  const parsed = checkNetworkSchema.safeParse(input ?? 'none');
  if (parsed.success) return parsed.data;
  throw new StrataError(
    'E_INVALID_INPUT',
    'check.network must be "none" or { allow: ["host:port" or "host:*", …] }',
    {
      issues: parsed.error.issues.map((i) => ({
        path: ['check', 'network', ...i.path].join('.'),
        message: i.message,
      })),
    },
  );
}

/** Writes the queue's row; returns whether it existed (its worker must then reload the settings). */
export async function writeQueue(
  { rows, clock, access }: { rows: QueueStore; clock: Clock; access: RepositoryAccess },
  tenantId: string,
  input: ConfigureInput,
): Promise<{ queue: QueueRow; updated: boolean }> {
  await checkGit();
  const network = parseCheckNetwork(input.check.network);
  const { path, repo } = await repositoryFor(access, tenantId, input);
  const main = await repo.branchCommit(input.target);
  const min = input.batch?.min ?? 1;
  const max = input.batch?.max ?? 8;
  if (min > max)
    throw new StrataError('E_INVALID_INPUT', `batch.min (${min}) exceeds batch.max (${max})`, { min, max });
  const now = clock.now();
  const existing = (await rows.queues(tenantId)).find((q) => q.id === input.queue);
  const auth = input.auth === undefined ? null : JSON.stringify(input.auth);
  const settings = [
    input.check.command,
    input.check.timeoutMs ?? 600_000,
    JSON.stringify(input.check.runtimes ?? ['sh', 'node']),
    JSON.stringify(network),
    min,
    max,
  ];
  if (existing) {
    if (existing.repository !== path || existing.target !== input.target) {
      throw new StrataError(
        'E_CONFLICT',
        `queue ${input.queue} already serves ${existing.repository} ${existing.target}`,
      );
    }
    await rows.db.run(
      `UPDATE mq_queues SET check_command = ?, check_timeout_ms = ?, runtimes = ?, check_network = ?, batch_min = ?,
       batch_max = ?, remote_auth = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
      [...settings, auth, now, tenantId, input.queue],
    );
  } else {
    await rows.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO mq_queues (tenant_id, id, repository, target, check_command, check_timeout_ms, runtimes,
         check_network, batch_min, batch_max, remote_auth, main_version, main_commit, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
        [tenantId, input.queue, path, input.target, ...settings, auth, main, now, now],
      );
      await tx.run(
        'INSERT INTO mq_advances (tenant_id, queue_id, version, commit_sha, check_id, fence, at) VALUES (?, ?, 0, ?, NULL, 0, ?)',
        [tenantId, input.queue, main, now],
      );
    });
  }
  return { queue: await rows.queue(tenantId, input.queue), updated: existing !== undefined };
}

/**
 * The repository a configure names: a remote URL (its mirror under the allowed roots, created on
 * first use) or a bare repository on disk inside the allowed roots.
 */
async function repositoryFor(
  access: RepositoryAccess,
  tenantId: string,
  input: ConfigureInput,
): Promise<{ path: string; repo: GitRepository }> {
  if (isRemoteUrl(input.repository)) {
    const url = remoteUrl(input.repository);
    return {
      path: url,
      repo: repositoryOf(access, tenantId, { id: input.queue, repository: url, auth: input.auth ?? null }),
    };
  }
  if (input.auth !== undefined) {
    throw new StrataError('E_INVALID_INPUT', 'auth applies to a remote repository URL only');
  }
  const path = allowedRepository(input.repository, access.allowedRoots);
  const repo = new GitRepository(path);
  if (!(await repo.isRepository())) {
    throw new StrataError('E_REPOSITORY_NOT_ALLOWED', `${input.repository} is not a git repository`, {
      repository: input.repository,
    });
  }
  return { path, repo };
}
