/**
 * @module compute/drivers/bubblewrap
 * The default sandbox driver: each exec runs under Debian's `bwrap` with every namespace unshared
 * (user, mount, pid, network, ipc, uts, cgroup) and nested user namespaces disabled. The sandbox
 * sees a read-only `/usr` (the `sh` and `python3` runtimes), the Node installation read-only at
 * `/opt/node` when the `node` runtime is asked for, a generated `/etc` (no shadow, no host
 * accounts), a private `/proc`, `/dev` and size-limited `/tmp`, and its workspace at
 * `/workspace`. No host home, data directory or secret is mounted; the environment is only what
 * the spec and the exec pass. `--die-with-parent` and `--new-session` keep it tied to the server
 * and off the controlling terminal; when the exec's main process ends the pid namespace goes, and
 * every process in it with it.
 *
 * Limits: memory and process count through a per-sandbox cgroup (v2, else v1) where one can be
 * created, else rlimits; CPU seconds through RLIMIT_CPU; wall time by killing bwrap; the network
 * is loopback only, plus an allow-list through {@link EgressProxy}.
 *
 * bwrap runs as the server's user without setuid: when that is root, the sandbox's uid 1000 maps
 * to host root (with no capabilities), so isolation rests on the namespaces and mounts above and
 * on cgroup limits — RLIMIT_NPROC does not bind root, which is why pids need a cgroup.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { StrataError } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { runProcess, signalFromStatus } from '../../sandbox/process-run.ts';
import type {
  ExecResult,
  LimitName,
  PrepareRequest,
  RunRequest,
  SandboxDriver,
  SandboxRunner,
  SandboxSpec,
} from '../../sandbox/types.ts';
import { Cgroup, detectCgroups, type CgroupMode } from './cgroups.ts';
import { EgressProxy, PROXY_PORT } from './egress-proxy.ts';

const run = promisify(execFile);

export interface BubblewrapDriverOptions {
  /** @default 'bwrap' on PATH */
  readonly bwrap?: string;
  /** The Node installation mounted for the `node` runtime. @default the running Node's prefix */
  readonly nodePrefix?: string;
  /** `auto` uses cgroups when writable; `none` forces rlimits. @default 'auto' */
  readonly cgroups?: 'auto' | 'none';
  /** Where the generated `/etc` lives. */
  readonly stateDir: string;
  readonly logger?: Logger;
}

const SANDBOX_UID = '1000';
const PATH_BASE = '/usr/local/bin:/usr/bin:/bin';
const PROXY_SOCKET = '/run/strata/proxy.sock';

const ETC_FILES: Readonly<Record<string, string>> = {
  passwd: 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nsandbox:x:1000:1000:sandbox:/workspace:/bin/sh\n',
  group: 'root:x:0:\nsandbox:x:1000:\n',
  hosts: '127.0.0.1 localhost sandbox\n::1 localhost\n',
  'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
  'resolv.conf': '',
  hostname: 'sandbox\n',
};
/** Host files and directories a runtime needs that hold nothing private. */
const ETC_BINDS = ['ld.so.cache', 'alternatives', 'ssl/certs', 'localtime', 'mime.types'];

export class BubblewrapDriver implements SandboxDriver {
  readonly name = 'bubblewrap';
  readonly isolated = true;
  readonly #options: BubblewrapDriverOptions;
  readonly #bwrap: string;
  readonly #nodePrefix: string;
  #checked: Promise<void> | undefined;
  #cgroupMode: CgroupMode = 'none';

  constructor(options: BubblewrapDriverOptions) {
    this.#options = options;
    this.#bwrap = options.bwrap ?? 'bwrap';
    this.#nodePrefix = options.nodePrefix ?? dirname(dirname(process.execPath));
  }

  get cgroupMode(): CgroupMode {
    return this.#cgroupMode;
  }

  runtimes(): readonly string[] {
    const out = ['sh'];
    if (existsSync('/usr/bin/python3')) out.push('python3');
    if (existsSync(join(this.#nodePrefix, 'bin', 'node'))) out.push('node');
    return out;
  }

  check(): Promise<void> {
    return (this.#checked ??= this.#check());
  }

  async #check(): Promise<void> {
    if (process.platform !== 'linux') {
      throw new StrataError('E_UNAVAILABLE', 'the bubblewrap driver needs Linux', { driver: this.name });
    }
    try {
      await run(this.#bwrap, [
        '--unshare-all',
        '--ro-bind',
        '/usr',
        '/usr',
        ...['bin', 'lib', 'lib64'].flatMap((dir) => ['--symlink', `usr/${dir}`, `/${dir}`]),
        '/usr/bin/true',
      ]);
    } catch (error) {
      this.#checked = undefined;
      throw new StrataError(
        'E_UNAVAILABLE',
        `bubblewrap cannot run here (${(error as Error).message.split('\n')[0]}); install it (apt-get install bubblewrap) or use the process driver with allowInsecure`,
        { driver: this.name },
      );
    }
    const etc = join(this.#options.stateDir, 'etc');
    await mkdir(etc, { recursive: true, mode: 0o755 });
    for (const [name, content] of Object.entries(ETC_FILES)) await writeFile(join(etc, name), content);
    // Mount points for the host files bound over the generated /etc.
    for (const name of ETC_BINDS) {
      const info = await stat(join('/etc', name)).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) await mkdir(join(etc, name), { recursive: true });
      else {
        await mkdir(dirname(join(etc, name)), { recursive: true });
        await writeFile(join(etc, name), '');
      }
    }
    this.#cgroupMode = this.#options.cgroups === 'none' ? 'none' : await detectCgroups();
    this.#options.logger?.info({ cgroups: this.#cgroupMode }, 'bubblewrap driver ready');
  }

  async prepare(request: PrepareRequest): Promise<SandboxRunner> {
    await this.check();
    const { spec } = request;
    const cgroup =
      this.#cgroupMode === 'none'
        ? undefined
        : await Cgroup.create(this.#cgroupMode, request.id, {
            memoryBytes: spec.limits.memoryBytes,
            pids: spec.limits.pids,
          });
    let proxy: EgressProxy | undefined;
    try {
      if (spec.network !== 'none') {
        await mkdir(request.runDir, { recursive: true, mode: 0o700 });
        proxy = await EgressProxy.start({
          path: join(request.runDir, 'proxy.sock'),
          allow: spec.network.allow,
          onDecision: (decision) =>
            this.#options.logger?.info({ sandbox: request.id, ...decision }, 'sandbox egress'),
        });
      }
    } catch (error) {
      await cgroup?.remove();
      throw error;
    }
    return new BubblewrapRunner({
      bwrap: this.#bwrap,
      args: this.#baseArgs(request, proxy),
      spec,
      cgroup,
      proxy,
    });
  }

  #baseArgs(request: PrepareRequest, proxy: EgressProxy | undefined): string[] {
    const { spec } = request;
    const args = [
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      '--uid',
      SANDBOX_UID,
      '--gid',
      SANDBOX_UID,
      '--hostname',
      'sandbox',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/bin',
      '/bin',
      '--symlink',
      'usr/sbin',
      '/sbin',
      '--symlink',
      'usr/lib',
      '/lib',
    ];
    if (existsSync('/usr/lib64')) args.push('--symlink', 'usr/lib64', '/lib64');
    args.push('--ro-bind', join(this.#options.stateDir, 'etc'), '/etc');
    for (const name of ETC_BINDS) {
      const host = join('/etc', name);
      if (existsSync(host)) args.push('--ro-bind', host, host);
    }
    args.push('--proc', '/proc', '--dev', '/dev');
    args.push('--size', String(Math.min(spec.limits.workspaceBytes, 256 * 1024 * 1024)), '--tmpfs', '/tmp');
    args.push('--tmpfs', '/run');
    if (spec.runtimes.includes('node')) args.push('--ro-bind', this.#nodePrefix, '/opt/node');
    if (proxy) args.push('--dir', '/run/strata', '--ro-bind', proxy.path, PROXY_SOCKET);
    args.push('--bind', request.workspaceDir, '/workspace');
    return args;
  }
}

interface RunnerOptions {
  readonly bwrap: string;
  readonly args: readonly string[];
  readonly spec: SandboxSpec;
  readonly cgroup: Cgroup | undefined;
  readonly proxy: EgressProxy | undefined;
}

/**
 * The shell that starts bwrap: joins the cgroups (so every descendant is inside), sets rlimits,
 * then execs. Arguments: the number of cgroup files, the files, then bwrap's argv.
 */
const LAUNCHER =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; ' +
  'ulimit -S -t "$2"; ulimit -H -t "$1"; shift 2; ' +
  'if [ "$1" != - ]; then ulimit -v "$1"; fi; shift; exec "$@"';

/** Inside the sandbox: starts the socat bridge to the egress proxy, waits for it, then execs. */
const BRIDGE =
  `socat TCP-LISTEN:${PROXY_PORT},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${PROXY_SOCKET} 2>/dev/null & ` +
  `i=0; while ! grep -q ':${PROXY_PORT.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A' /proc/net/tcp; do ` +
  'i=$((i+1)); if [ $i -gt 500 ]; then echo "strata: egress bridge did not start" >&2; exit 125; fi; sleep 0.002; done; exec "$@"';

class BubblewrapRunner implements SandboxRunner {
  readonly #o: RunnerOptions;
  readonly #active = new Set<number>();

  constructor(options: RunnerOptions) {
    this.#o = options;
  }

  async run(request: RunRequest): Promise<ExecResult> {
    const { spec, cgroup, proxy } = this.#o;
    const before = cgroup ? await cgroup.counters() : undefined;
    const env: Record<string, string> = {
      PATH: spec.runtimes.includes('node') ? `/opt/node/bin:${PATH_BASE}` : PATH_BASE,
      HOME: '/workspace',
      USER: 'sandbox',
      LANG: 'C.UTF-8',
      TMPDIR: '/tmp',
      ...request.env,
    };
    let argv = [...request.argv];
    if (proxy) {
      const url = `http://127.0.0.1:${PROXY_PORT}`;
      for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY'])
        env[key] = url;
      env['NODE_USE_ENV_PROXY'] = '1';
      argv = ['/bin/sh', '-c', BRIDGE, 'bridge', ...argv];
    }
    const cpu = spec.limits.cpuSeconds;
    const memoryKb = cgroup ? '-' : String(Math.ceil(spec.limits.memoryBytes / 1024));
    const files = cgroup?.procsFiles ?? [];
    const args = [
      '-c',
      LAUNCHER,
      'launcher',
      String(files.length),
      ...files,
      String(cpu + 1),
      String(cpu),
      memoryKb,
      this.#o.bwrap,
      ...this.#o.args,
      '--chdir',
      request.cwd,
      '--',
      ...argv,
    ];
    const result = await runProcess({
      file: '/bin/sh',
      args,
      env,
      wallTimeMs: request.wallTimeMs,
      outputBytes: spec.limits.outputBytes,
      stdin: request.stdin,
      onStdout: request.onStdout,
      onStderr: request.onStderr,
      signal: request.signal,
      onSpawn: (pid, alive) => (alive ? this.#active.add(pid) : this.#active.delete(pid)),
    });
    const after = cgroup ? await cgroup.counters() : undefined;
    // bwrap reports a signalled command as 128 + n.
    const signal = result.signal ?? signalFromStatus(result.exitCode);
    const exceeded: LimitName[] = [];
    if (result.timedOut) exceeded.push('wall');
    if (signal === 'SIGXCPU') exceeded.push('cpu');
    if (result.oomKilled || (before && after && after.oomKills > before.oomKills)) exceeded.push('memory');
    if (before && after && after.pidsMax > before.pidsMax) exceeded.push('pids');
    if (result.truncated) exceeded.push('output');
    return {
      exitCode: signal === null ? result.exitCode : null,
      signal: result.timedOut || result.aborted || result.oomKilled ? 'SIGKILL' : signal,
      stdout: result.stdout,
      stderr: result.stderr,
      durationMs: result.durationMs,
      stdoutBytes: result.stdoutBytes,
      stderrBytes: result.stderrBytes,
      truncated: result.truncated,
      exceeded,
    };
  }

  async freeze(frozen: boolean): Promise<void> {
    if (this.#o.cgroup) {
      await this.#o.cgroup.freeze(frozen);
      return;
    }
    for (const pid of this.#active) {
      try {
        process.kill(-pid, frozen ? 'SIGSTOP' : 'SIGCONT');
      } catch {
        // gone
      }
    }
  }

  async dispose(): Promise<void> {
    await this.#o.proxy?.close();
    await this.#o.cgroup?.remove();
  }
}
