/**
 * @module compute/sandbox/types
 * The sandbox contract every driver implements. A sandbox is a workspace directory plus a way to
 * run commands against it under limits: each `exec` starts fresh processes (in a new set of
 * namespaces for the bubblewrap driver) that see the workspace at `/workspace`; processes never
 * outlive their exec. Files, tar transfer and snapshots act on the workspace directly.
 *
 * Glossary
 * - **Ephemeral**: the workspace is a size-limited tmpfs, gone on destroy.
 * - **Persistent**: a named workspace on disk under the data directory; it survives restarts of
 *   the runtime. An idle persistent sandbox is `paused` (no processes) and resumes on the next exec.
 * - **Runtime**: a read-only host toolchain mounted into the sandbox (`sh`, `python3`, `node`).
 */
import type { Readable } from 'node:stream';

export type SandboxKind = 'ephemeral' | 'persistent';
export type SandboxState = 'idle' | 'running' | 'paused' | 'destroyed';
/** `none`, or `host:port` entries (`port` may be `*`) reachable through the egress proxy. */
export type NetworkPolicy = 'none' | { readonly allow: readonly string[] };

/** A limit that ended (or constrained) an exec. */
export type LimitName = 'wall' | 'cpu' | 'memory' | 'pids' | 'output' | 'workspace';

export interface SandboxLimits {
  /** Workspace size in bytes (tmpfs size for ephemeral, checked after each exec for persistent). */
  readonly workspaceBytes: number;
  /** CPU seconds per process (RLIMIT_CPU): the process gets SIGXCPU, then SIGKILL. */
  readonly cpuSeconds: number;
  /** Memory in bytes for all processes of the sandbox (cgroup), else address space per process. */
  readonly memoryBytes: number;
  /** Processes and threads alive at once in the sandbox (cgroup pids), else RLIMIT_NPROC. */
  readonly pids: number;
  /** Default wall time per exec; `exec({ timeoutMs })` may only lower it. */
  readonly wallTimeMs: number;
  /** stdout and stderr kept per exec, each; the rest is counted and dropped, with a marker. */
  readonly outputBytes: number;
}

export interface SandboxSpec {
  readonly kind: SandboxKind;
  /** Persistent sandboxes need a name (unique per owner); ephemeral ones may have one. */
  readonly name?: string;
  /** Driver name; @default the manager's default driver (`bubblewrap`). */
  readonly driver?: string;
  readonly runtimes: readonly string[];
  readonly limits: SandboxLimits;
  readonly network: NetworkPolicy;
  /** Environment for every exec (merged under `exec({ env })`). */
  readonly env: Readonly<Record<string, string>>;
  /** A persistent sandbox idle this long is paused. */
  readonly idleTimeoutMs: number;
}

export interface ExecOptions {
  /** Working directory inside the workspace (relative to it). @default the workspace root */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: string | Uint8Array;
  /** Lowers the sandbox's wall time for this exec. */
  readonly timeoutMs?: number;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  readonly signal?: AbortSignal;
}

export interface ExecResult {
  /** The exit code, or null when a signal ended the process. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Bytes the command wrote, counting dropped ones. */
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly truncated: boolean;
  /** Limits the exec ran into, in the order detected. Empty when none. */
  readonly exceeded: readonly LimitName[];
}

export interface FileEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
}

export interface SnapshotRef {
  /** The SHA-256 of the tarball: snapshots are stored by content hash. */
  readonly id: string;
  readonly bytes: number;
  readonly createdAt: number;
}

export interface SandboxFiles {
  read(path: string): Promise<Buffer>;
  write(path: string, data: string | Uint8Array, options?: { mode?: number }): Promise<void>;
  /** Entries under a directory; `recursive` walks the tree. */
  list(path?: string, options?: { recursive?: boolean }): Promise<FileEntry[]>;
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Extracts a tar (gzip or not) into a directory of the workspace. */
  upload(tar: Uint8Array | Readable, dest?: string): Promise<void>;
  /** A gzipped tar of a path of the workspace. */
  download(path?: string): Promise<Buffer>;
}

export interface SandboxInfo {
  readonly id: string;
  readonly name: string | null;
  readonly owner: string;
  readonly kind: SandboxKind;
  readonly driver: string;
  readonly state: SandboxState;
  readonly spec: SandboxSpec;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly snapshots: readonly SnapshotRef[];
}

export interface Sandbox {
  readonly id: string;
  readonly kind: SandboxKind;
  readonly spec: SandboxSpec;
  readonly files: SandboxFiles;
  state(): SandboxState;
  info(): SandboxInfo;
  /** A string runs with `/bin/sh -c`; an array is an argv. */
  exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult>;
  snapshot(): Promise<SnapshotRef>;
  /** Replaces the workspace with a snapshot's content. */
  restore(snapshot: string | SnapshotRef): Promise<void>;
  /** Freezes running processes; an exec (or `resume`) thaws. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  destroy(): Promise<void>;
}

/** What a driver gets to run one exec. */
export interface RunRequest {
  readonly argv: readonly string[];
  /** Absolute path inside the sandbox (`/workspace/...`). */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: string | Uint8Array;
  readonly wallTimeMs: number;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  readonly signal?: AbortSignal;
}

/** A driver's handle on one sandbox's execution environment. */
export interface SandboxRunner {
  run(request: RunRequest): Promise<ExecResult>;
  /** Freezes or thaws every process of the sandbox. */
  freeze(frozen: boolean): Promise<void>;
  /** Releases what `prepare` set up (cgroups, proxies). The workspace is the manager's. */
  dispose(): Promise<void>;
}

export interface PrepareRequest {
  readonly id: string;
  readonly spec: SandboxSpec;
  /** The host directory mounted at `/workspace`. */
  readonly workspaceDir: string;
  /** A private host directory for the driver's sockets and state (removed on destroy). */
  readonly runDir: string;
}

export interface SandboxDriver {
  readonly name: string;
  /** Whether the workspace is visible at `/workspace` (bubblewrap) or at its host path (process). */
  readonly isolated: boolean;
  /** Throws a StrataError saying why this driver cannot run here. */
  check(): Promise<void>;
  prepare(request: PrepareRequest): Promise<SandboxRunner>;
  /** Whether the driver can mount a runtime. */
  runtimes(): readonly string[];
  close?(): Promise<void>;
}
