/**
 * @module mergequeue/remote
 * A queue whose repository is a remote URL: the queue works on a local bare mirror under its
 * allowed roots (merges, archives and patches are local), fetches a branch before reading it and
 * pushes main with a compare-and-swap (`--force-with-lease=<branch>:<expected>` of a commit that
 * descends from expected, so a fast-forward that fails when someone else moved main).
 *
 * Credentials: the queue's config names a vault connection (a reference; the secret stays in the
 * vault) and a user name. Each git call reads the secret afresh and hands it to git as an
 * `http.extraHeader` through `GIT_CONFIG_*` environment variables — never on the command line,
 * never in a URL, never in a file. Git's stderr is scrubbed of it before it reaches an error, and
 * a refusal is E_REMOTE_AUTH, which names the queue's URL and connection only.
 *
 * Only https, or http to a loopback address (a server on the same host), is accepted, and git
 * may follow no other protocol (`GIT_ALLOW_PROTOCOL`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StrataError } from '../kernel/errors.ts';
import { checkBranchName, GitRepository, gitOk, runGit } from './git.ts';

/** Where a remote queue's credentials come from: a vault connection, and the user name to send. */
export interface RemoteAuth {
  readonly credential: string;
  /** @default 'x-access-token' */
  readonly username?: string;
}

/** Reads a vault connection's secret (the runtime wires the tools layer's vault here). */
export type SecretResolver = (tenantId: string, name: string) => Promise<string>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Any `scheme://` is a URL (refused by {@link remoteUrl} unless http(s)); anything else a path. */
export const isRemoteUrl = (repository: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(repository);

/** The URL as git will get it; E_INVALID_INPUT for other schemes, credentials in it, or plain http off-host. */
export function remoteUrl(repository: string): string {
  let url: URL;
  try {
    url = new URL(repository);
  } catch {
    throw new StrataError('E_INVALID_INPUT', 'repository is not a valid URL');
  }
  const plainLoopback = url.protocol === 'http:' && LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !plainLoopback) {
    throw new StrataError('E_INVALID_INPUT', 'a remote repository must be https (or http on loopback)');
  }
  if (url.username !== '' || url.password !== '') {
    // Said without echoing the URL: what was typed there is a secret.
    throw new StrataError('E_INVALID_INPUT', 'credentials go in the vault (auth.credential), not in the URL');
  }
  return url.href;
}

/** The local mirror of a tenant's remote queue, under the first allowed root. */
export function mirrorPath(allowedRoots: readonly string[], tenantId: string, queue: string): string {
  const root = allowedRoots[0];
  if (root === undefined) throw new StrataError('E_CONFIG', 'the merge queue has no allowed roots');
  return join(resolve(root), '.mq-mirrors', tenantId, `${queue}.git`);
}

export class RemoteRepository extends GitRepository {
  readonly url: string;
  readonly #secret: () => Promise<{ username: string; secret: string } | null>;

  constructor(
    mirror: string,
    url: string,
    secret: () => Promise<{ username: string; secret: string } | null>,
  ) {
    super(mirror);
    this.url = url;
    this.#secret = secret;
  }

  /** Creates the bare mirror on first use. */
  async ensureMirror(): Promise<void> {
    if (existsSync(join(this.path, 'HEAD'))) return;
    mkdirSync(this.path, { recursive: true });
    await gitOk(this.path, ['init', '--quiet', '--bare']);
  }

  /** Fetches the branch from the remote (E_NOT_FOUND when it has none), then reads it locally. */
  override async branchCommit(branch: string): Promise<string> {
    checkBranchName(branch);
    const fetched = await this.#remote([
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head', // concurrent fetches (a submit, the worker) share the mirror
      '--',
      this.url,
      `+refs/heads/${branch}:refs/heads/${branch}`,
    ]);
    if (fetched.code !== 0) {
      if (/couldn't find remote ref/i.test(fetched.stderr)) {
        throw new StrataError('E_NOT_FOUND', `branch ${branch} does not exist in ${this.url}`, { branch });
      }
      throw new StrataError('E_UNAVAILABLE', `git fetch from ${this.url} failed: ${fetched.stderr}`, {
        branch,
      });
    }
    return super.branchCommit(branch);
  }

  /** Pushes `next` to the remote only if its branch is still `expected`; false when it moved. */
  override async compareAndSwap(branch: string, next: string, expected: string): Promise<boolean> {
    const pushed = await this.#remote([
      'push',
      '--quiet',
      '--porcelain',
      `--force-with-lease=refs/heads/${branch}:${expected}`,
      '--',
      this.url,
      `${next}:refs/heads/${branch}`,
    ]);
    if (pushed.code !== 0) {
      if (/stale info|\[rejected\]|non-fast-forward|fetch first/.test(pushed.stderr + pushed.stdout))
        return false;
      throw new StrataError('E_UNAVAILABLE', `git push to ${this.url} failed: ${pushed.stderr}`, { branch });
    }
    await gitOk(this.path, ['update-ref', `refs/heads/${branch}`, next]);
    return true;
  }

  /** Runs a git command that talks to the remote, with the credential in its environment only. */
  async #remote(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    await this.ensureMirror();
    const auth = await this.#secret();
    const header = auth === null ? null : Buffer.from(`${auth.username}:${auth.secret}`).toString('base64');
    const env: Record<string, string> = {
      GIT_ALLOW_PROTOCOL: 'http:https',
      ...(header === null
        ? {}
        : {
            GIT_CONFIG_COUNT: '1',
            GIT_CONFIG_KEY_0: 'http.extraHeader',
            GIT_CONFIG_VALUE_0: `Authorization: Basic ${header}`,
          }),
    };
    const result = await runGit(this.path, args, { env });
    const hidden = [auth?.secret, header].filter((v): v is string => typeof v === 'string' && v !== '');
    const scrub = (text: string): string => hidden.reduce((t, v) => t.split(v).join('[secret]'), text).trim();
    const out = { code: result.code, stdout: scrub(result.stdout), stderr: scrub(result.stderr) };
    if (
      out.code !== 0 &&
      /Authentication failed|could not read (Username|Password)|returned error: 40[13]/.test(out.stderr)
    ) {
      throw new StrataError(
        'E_REMOTE_AUTH',
        auth === null
          ? `${this.url} asks for credentials: configure the queue with auth.credential (a vault connection)`
          : `${this.url} refused the credentials of the queue's vault connection`,
      );
    }
    return out;
  }
}

/** What opening a queue's repository needs: the allowed roots (for mirrors) and the vault. */
export interface RepositoryAccess {
  readonly allowedRoots: readonly string[];
  readonly secrets?: SecretResolver;
}

/** The queue's repository: the bare repository on disk, or a mirror of its remote URL. */
export function repositoryOf(
  access: RepositoryAccess,
  tenantId: string,
  queue: { readonly id: string; readonly repository: string; readonly auth: RemoteAuth | null },
): GitRepository {
  if (!isRemoteUrl(queue.repository)) return new GitRepository(queue.repository);
  const { auth } = queue;
  const mirror = mirrorPath(access.allowedRoots, tenantId, queue.id);
  return new RemoteRepository(mirror, queue.repository, async () => {
    if (auth === null) return null;
    if (!access.secrets)
      throw new StrataError('E_UNAVAILABLE', 'the merge queue has no vault to read credentials from');
    const secret = await access.secrets(tenantId, auth.credential);
    return { username: auth.username ?? 'x-access-token', secret };
  });
}
