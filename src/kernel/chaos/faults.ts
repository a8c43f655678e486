/**
 * @module kernel/chaos/faults
 * What chaos can inject, and where. A syscall belongs to a layer by its name's first segment
 * (`model.generate` → `models`); a plain injected error is the transient, retryable error that
 * layer really raises (a model call fails with E_MODEL_UNAVAILABLE, a mail send with
 * E_MAIL_SEND_FAILED), so recovery code sees what production would show it.
 *
 * Named faults are realised by the driver that owns the failure, not by the pipeline: the model
 * service answers a real HTTP 429, the sandbox runner SIGKILLs the real process, the MCP gateway
 * kills the real stdio server mid-call, the browser layer SIGKILLs the session's real Chromium. A driver asks with `takeChaosFault(layer, fault)` (scope.ts).
 */
import { StrataError, type StrataErrorCode } from '../errors.ts';

export const NAMED_FAULTS = [
  'http_429', // models: the provider answers 429 with Retry-After
  'http_500', // models: the provider answers 500
  'model_timeout', // models: the provider never answers; the call's own timeout ends it
  'malformed_tool_json', // models: a tool call's arguments are not JSON
  'smtp_451', // identity: the relay answers 451 (try again later)
  'oom_kill', // compute: the command is SIGKILLed and reported as out of memory
  'mcp_killed', // tools: the MCP stdio server is killed while it handles the call
  'provision_failed', // provisioning: the driver made the resource, then provisioning fails
  'browser_crash', // compute: the session's Chromium process is SIGKILLed during a browser action
  'a2a_timeout', // identity: the remote A2A agent never answers; the call's timeout ends it
  'memory_search_timeout', // memory: a search stalls past its deadline
  'ledger_conflict', // provisioning: a ledger reservation loses to a concurrent write
] as const;
export type NamedFault = (typeof NAMED_FAULTS)[number];

/** The layer whose driver realises each named fault. */
export const FAULT_LAYER: Readonly<Record<NamedFault, string>> = {
  http_429: 'models',
  http_500: 'models',
  model_timeout: 'models',
  malformed_tool_json: 'models',
  smtp_451: 'identity',
  oom_kill: 'compute',
  mcp_killed: 'tools',
  provision_failed: 'provisioning',
  browser_crash: 'compute',
  a2a_timeout: 'identity',
  memory_search_timeout: 'memory',
  ledger_conflict: 'provisioning',
};

const LAYER_OF_PREFIX: Readonly<Record<string, string>> = {
  model: 'models',
  sandbox: 'compute',
  browser: 'compute',
  mail: 'identity',
  a2a: 'identity',
  identity: 'identity',
  mx: 'identity',
  memory: 'memory',
  tools: 'tools',
  provision: 'provisioning',
  billing: 'provisioning',
  runs: 'orchestration',
  fleet: 'orchestration',
  approvals: 'orchestration',
  escalations: 'orchestration',
  bp: 'orchestration',
  mq: 'mergequeue',
  kernel: 'kernel',
  chaos: 'kernel',
};

/** The layer a syscall belongs to; an unknown prefix is its own layer. */
export function layerOf(syscall: string): string {
  const prefix = syscall.split('.', 1)[0] ?? syscall;
  return LAYER_OF_PREFIX[prefix] ?? prefix;
}

/** Syscall prefixes whose layer has its own transient code; every other one uses E_UNAVAILABLE. */
const TRANSIENT: Readonly<Record<string, StrataErrorCode>> = {
  model: 'E_MODEL_UNAVAILABLE',
  mail: 'E_MAIL_SEND_FAILED',
};

export type FaultKind = 'error' | 'latency' | 'outage' | NamedFault;

/** The retryable error an injected failure of `syscall` raises; `details.injected` is true. */
export function injectedError(syscall: string, kind: FaultKind, rule: string): StrataError {
  const layer = layerOf(syscall);
  const code = TRANSIENT[syscall.split('.', 1)[0] ?? ''] ?? 'E_UNAVAILABLE';
  const why = kind === 'outage' ? `the ${layer} layer is down (injected outage)` : 'injected fault';
  return new StrataError(
    code,
    `${syscall}: ${why}`,
    { injected: true, layer, kind, rule },
    { retryable: true },
  );
}
