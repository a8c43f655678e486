/**
 * @module mergequeue/simulate
 * A discrete-event simulation of the queue with simulated checks, for the property test and the
 * benchmark: changes from many agents (some are culprits that break any tree holding them, some
 * depend on earlier ones), checks that take about one time unit, run in parallel, and fail
 * spuriously with a flake probability. Every advance of main is verified against the simulated
 * truth, so a bug that puts a failing tree on main, or merges a tree that was not the one tested,
 * shows up as a violation instead of passing silently. Seeded, so a failure reproduces.
 */
import { QueueEngine } from './engine.ts';
import type { BatchSize, CheckRequest, EngineStats, EntryView, WindowOptions } from './types.ts';

/** mulberry32: a small, well-mixed 32-bit PRNG; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SimulationOptions {
  readonly seed: number;
  /** @default 50 */
  readonly agents?: number;
  /** @default 10 */
  readonly changesPerAgent?: number;
  readonly culpritRate: number;
  readonly flakeRate: number;
  /** Chance a change depends on an earlier change (its author's previous one, or any). @default 0.2 */
  readonly dependencyRate?: number;
  readonly batch: BatchSize;
  readonly window?: WindowOptions;
  readonly jumpAhead?: boolean;
  /** @default true (see `batching.ts`) */
  readonly adaptiveBatch?: boolean;
}

export interface SimulationResult {
  readonly changes: number;
  readonly culprits: ReadonlySet<string>;
  readonly entries: readonly EntryView[];
  readonly stats: EngineStats;
  /** Check runs that failed only because of a flake. */
  readonly flakyFailures: number;
  readonly flakyChecks: ReadonlySet<string>;
  /** Advances of main to a tree holding a culprit (must be 0). */
  readonly mainRed: number;
  /** Broken invariants, in words (must be empty). */
  readonly violations: readonly string[];
  readonly main: readonly string[];
  /** Time from submission to a final state, per entry, in check durations. */
  readonly queueTimes: readonly number[];
  readonly elapsed: number;
  /** Every check in the order it started, with its outcome: what a store would hold. */
  readonly checks: readonly SimulatedCheck[];
}

export interface SimulatedCheck {
  readonly purpose: CheckRequest['purpose'];
  readonly tree: readonly string[];
  readonly version: number;
  outcome: 'pass' | 'fail' | null;
}

interface Running {
  readonly request: CheckRequest;
  readonly endsAt: number;
}

export function simulate(options: SimulationOptions): SimulationResult {
  const random = seededRandom(options.seed);
  const agents = options.agents ?? 50;
  const perAgent = options.changesPerAgent ?? 10;
  const depRate = options.dependencyRate ?? 0.2;
  const engine = new QueueEngine({
    batch: options.batch,
    window: options.window,
    jumpAhead: options.jumpAhead,
    adaptiveBatch: options.adaptiveBatch,
  });
  const culprits = new Set<string>();
  const ids: string[] = [];
  // Agents' changes arrive interleaved, as 50 agents working at once would send them.
  for (let round = 0; round < perAgent; round++) {
    for (let agent = 0; agent < agents; agent++) {
      const id = `a${agent}-${round}`;
      const dependsOn: string[] = [];
      if (ids.length > 0 && random() < depRate) {
        const own = round > 0 ? `a${agent}-${round - 1}` : undefined;
        dependsOn.push(
          own !== undefined && random() < 0.7 ? own : (ids[Math.floor(random() * ids.length)] as string),
        );
      }
      if (random() < options.culpritRate) culprits.add(id);
      engine.submit({ id, author: `agent-${agent}`, dependsOn });
      ids.push(id);
    }
  }
  const main: string[] = [];
  const versionLength = [0];
  const passed = new Set<string>();
  const requests = new Map<string, CheckRequest>();
  const started = new Map<string, SimulatedCheck>();
  const flakyChecks = new Set<string>();
  const violations: string[] = [];
  const finishedAt = new Map<string, number>();
  let running: Running[] = [];
  let now = 0;
  let mainRed = 0;
  for (let guard = 0; ; guard++) {
    if (guard > 1_000_000) {
      violations.push('simulation did not finish');
      break;
    }
    for (const request of engine.next()) {
      requests.set(request.id, request);
      const { purpose, tree, version } = request;
      started.set(request.id, { purpose, tree, version, outcome: null });
      running.push({ request, endsAt: now + 0.8 + random() * 0.4 });
    }
    if (running.length === 0) break;
    running.sort((a, b) => a.endsAt - b.endsAt);
    const done = running.shift() as Running;
    running = running.filter((r) => r !== done);
    now = done.endsAt;
    const red = done.request.tree.some((id) => culprits.has(id));
    let outcome: 'pass' | 'fail' = red ? 'fail' : 'pass';
    if (!red && random() < options.flakeRate) {
      outcome = 'fail';
      flakyChecks.add(done.request.id);
    }
    if (outcome === 'pass') passed.add(done.request.id);
    (started.get(done.request.id) as SimulatedCheck).outcome = outcome;
    for (const advance of engine.report(done.request.id, outcome)) {
      const request = requests.get(advance.check);
      if (!request || !passed.has(advance.check)) {
        violations.push(`advance to check ${advance.check}, which did not pass`);
        continue;
      }
      if (advance.from !== versionLength.length - 1)
        violations.push(`advance from stale version ${advance.from}`);
      const base = main.slice(0, versionLength[request.version]);
      const tested = [...base, ...request.tree];
      const extends_ = tested.length >= main.length && main.every((id, i) => tested[i] === id);
      if (!extends_) violations.push(`check ${advance.check} does not extend main`);
      const added = tested.slice(main.length);
      if (added.join() !== advance.merged.join())
        violations.push(`advance ${advance.check} merges other entries`);
      if (tested.some((id) => culprits.has(id))) mainRed += 1;
      const merged = new Set(tested);
      for (const id of added) {
        for (const dep of engine.entry(id).dependsOn) {
          if (!merged.has(dep)) violations.push(`${id} merged before its dependency ${dep}`);
        }
      }
      main.splice(0, main.length, ...tested);
      versionLength.push(main.length);
    }
    for (const entry of engine.entries()) {
      if (entry.state !== 'queued' && entry.state !== 'testing' && !finishedAt.has(entry.id)) {
        finishedAt.set(entry.id, now);
      }
    }
  }
  const entries = engine.entries();
  for (const entry of entries) {
    if (entry.state === 'queued' || entry.state === 'testing') violations.push(`${entry.id} never finished`);
  }
  return {
    changes: ids.length,
    culprits,
    entries,
    stats: engine.stats(),
    flakyFailures: flakyChecks.size,
    flakyChecks,
    mainRed,
    violations,
    main,
    queueTimes: [...finishedAt.values()],
    elapsed: now,
    checks: [...started.values()],
  };
}

/**
 * Checks one-at-a-time merging would run on the same changes (bors's serial mode): each change
 * alone on main, a failure retried once. Culprits cost two checks, flakes one more each.
 */
export function serialChecks(result: SimulationResult, options: { seed: number; flakeRate: number }): number {
  const random = seededRandom(options.seed ^ 0x5eed);
  const merged = new Set<string>();
  const dead = new Set<string>();
  let checks = 0;
  for (const entry of result.entries) {
    if (entry.dependsOn.some((dep) => dead.has(dep))) {
      dead.add(entry.id);
      continue;
    }
    let outcome: 'pass' | 'fail' = 'fail';
    for (let attempt = 0; attempt < 2 && outcome === 'fail'; attempt++) {
      checks += 1;
      const red = result.culprits.has(entry.id) || random() < options.flakeRate;
      outcome = red ? 'fail' : 'pass';
    }
    (outcome === 'pass' ? merged : dead).add(entry.id);
  }
  return checks;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
