/**
 * @module orchestration/supervision/spec
 * Supervisor specifications, their defaults and their validation.
 *
 * Glossary
 * - **Supervisor**: a durable run whose children are child runs it starts, watches and restarts.
 * - **Child id**: the child's stable name under its supervisor (`planner`, `agent-17`).
 * - **Incarnation**: the n-th run of a child (1 = first). A restart is a new run with the next
 *   incarnation; the pair is in the run's idempotency key (`sup:<supervisor>:<n>:<child id>`), so a
 *   child is never started twice and anything from an older incarnation can be told apart.
 *
 * Defaults for agents: 3 restarts in 300 s (OTP's default, 1 in 5 s, suits processes that restart
 * in microseconds; an agent restart costs seconds and model calls, and failures are slower to show).
 */
import { StrataError } from '../../kernel/index.ts';
import type { WorkflowDefinition } from '../define.ts';
import type { BackoffPolicy, BreakerPolicy } from './breaker.ts';
import type { AutoShutdown, RestartType, Strategy } from './decide.ts';
import { spawnRateProblem, type SpawnRate } from './spawn-pacer.ts';

export const AGENT_SUPERVISOR_DEFAULTS = {
  intensity: 3,
  periodMs: 300_000,
  autoShutdown: 'never',
  /** How long a terminated child gets to stop before it is killed (OTP's worker default). */
  shutdownMs: 5_000,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
  breaker: { deaths: 3, windowMs: 30_000, cooldownMs: 60_000 },
} as const satisfies {
  intensity: number;
  periodMs: number;
  autoShutdown: AutoShutdown;
  shutdownMs: number;
  backoff: BackoffPolicy;
  breaker: BreakerPolicy;
};

/** The signal (and syscall) that adds a dynamic child to a simple_one_for_one supervisor. */
export const START_CHILD_SIGNAL = 'fleet.supervisor.start_child';

/** Any workflow definition (a child is started by name and version; its input is checked then). */
export type ChildWorkflow = Pick<WorkflowDefinition, 'name' | 'version'>;

export interface ChildTemplate {
  readonly workflow: ChildWorkflow;
  /** @default 'permanent' */
  readonly restart?: RestartType;
  /** Only transient or temporary children under auto_shutdown any/all_significant. @default false */
  readonly significant?: boolean;
  /** Time a terminated child gets before it is killed; 0 is OTP's brutal_kill. @default 5000 */
  readonly shutdownMs?: number;
}

export interface ChildSpec extends ChildTemplate {
  readonly id: string;
  readonly input: unknown;
}

export type SupervisorEvent =
  | { readonly type: 'breaker_open'; readonly until: number; readonly deaths: number }
  | { readonly type: 'intensity_exceeded'; readonly restarts: number; readonly periodMs: number }
  | { readonly type: 'auto_shutdown'; readonly childId: string }
  | { readonly type: 'stale_exit'; readonly runId: string };

export interface SupervisorSpec {
  readonly name: string;
  readonly version: number;
  readonly strategy: Strategy;
  /** @default 3 */
  readonly intensity?: number;
  /** @default 300_000 */
  readonly periodMs?: number;
  /** @default 'never' */
  readonly autoShutdown?: AutoShutdown;
  /** Static children, in start order (every strategy but simple_one_for_one). */
  readonly children?: readonly ChildSpec[];
  /** The one kind of child of a simple_one_for_one supervisor, started on demand. */
  readonly childSpec?: ChildTemplate;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly breaker?: Partial<BreakerPolicy>;
  /**
   * Spread child starts (initial, restarts, dynamic) at this rate, burst allowed; each start past
   * the burst is created with a durable delay. @default unpaced
   */
  readonly spawnRate?: SpawnRate;
  /** Called once per event (inside a journaled step, so replay does not repeat it): where escalations attach. */
  readonly onEvent?: (event: SupervisorEvent & { supervisorRunId: string }) => Promise<void> | void;
  readonly queue?: string;
}

const CHILD_ID = /^[a-z0-9][a-z0-9_.-]{0,99}$/i;

const invalid = (spec: SupervisorSpec, message: string): StrataError =>
  new StrataError('E_INVALID_INPUT', `supervisor ${spec.name}: ${message}`, { supervisor: spec.name });

/** Refuses specifications OTP refuses, plus the ones that cannot work as durable runs. */
export function validateSpec(
  spec: SupervisorSpec,
  isSupervisor: (name: string) => SupervisorSpec | undefined,
): void {
  const intensity = spec.intensity ?? AGENT_SUPERVISOR_DEFAULTS.intensity;
  const periodMs = spec.periodMs ?? AGENT_SUPERVISOR_DEFAULTS.periodMs;
  if (!Number.isInteger(intensity) || intensity < 0) throw invalid(spec, 'intensity must be an integer ≥ 0');
  if (!Number.isInteger(periodMs) || periodMs < 1) throw invalid(spec, 'periodMs must be an integer ≥ 1');
  const pacing = spec.spawnRate && spawnRateProblem(spec.spawnRate);
  if (pacing) throw invalid(spec, pacing);
  const auto = spec.autoShutdown ?? 'never';
  const simple = spec.strategy === 'simple_one_for_one';
  if (simple && (!spec.childSpec || spec.children?.length))
    throw invalid(spec, 'simple_one_for_one takes a childSpec and no static children');
  if (!simple && (spec.childSpec || !spec.children?.length))
    throw invalid(spec, `${spec.strategy} takes a non-empty children list and no childSpec`);
  // OTP 27 refuses auto_shutdown for simple_one_for_one (its dynamic children come and go).
  if (simple && auto !== 'never') throw invalid(spec, 'simple_one_for_one does not support auto_shutdown');
  const templates = simple && spec.childSpec ? [spec.childSpec] : (spec.children ?? []);
  const ids = new Set<string>();
  for (const child of templates) {
    if ('id' in child && typeof child.id === 'string') {
      if (!CHILD_ID.test(child.id))
        throw invalid(spec, `child id "${child.id}" must match ${CHILD_ID.source}`);
      if (ids.has(child.id)) throw invalid(spec, `child id "${child.id}" appears twice`);
      ids.add(child.id);
    }
    if (child.significant && auto === 'never')
      throw invalid(spec, 'a significant child needs autoShutdown any_significant or all_significant');
    if (child.significant && (child.restart ?? 'permanent') === 'permanent')
      throw invalid(spec, 'a permanent child cannot be significant');
    if (child.shutdownMs !== undefined && (!Number.isInteger(child.shutdownMs) || child.shutdownMs < 0))
      throw invalid(spec, 'shutdownMs must be an integer ≥ 0');
    if (reaches(child.workflow.name, spec.name, isSupervisor, new Set()))
      throw invalid(spec, `child workflow ${child.workflow.name} supervises ${spec.name}: a cycle`);
  }
}

/** Whether the supervisor `from` (transitively) has a child workflow named `target`. */
function reaches(
  from: string,
  target: string,
  isSupervisor: (name: string) => SupervisorSpec | undefined,
  seen: Set<string>,
): boolean {
  if (from === target) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  const spec = isSupervisor(from);
  if (!spec) return false;
  const names = [...(spec.children ?? []), ...(spec.childSpec ? [spec.childSpec] : [])].map(
    (c) => c.workflow.name,
  );
  return names.some((name) => reaches(name, target, isSupervisor, seen));
}

export const isChildId = (id: string): boolean => CHILD_ID.test(id);

/** The idempotency key of a child's incarnation: also its fencing label. */
export const incarnationKey = (supervisorRunId: string, incarnation: number, childId: string): string =>
  `sup:${supervisorRunId}:${incarnation}:${childId}`;

export function parseIncarnationKey(
  key: string | null,
): { supervisorRunId: string; incarnation: number; childId: string } | undefined {
  const match = key === null ? null : /^sup:([^:]+):(\d+):(.+)$/.exec(key);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { supervisorRunId: match[1], incarnation: Number(match[2]), childId: match[3] };
}
