/**
 * @module kernel/chaos/injector
 * The fault injector the syscall pipeline consults before each attempt of a handler. With chaos
 * off the pipeline reads one boolean (`injector.enabled`) and nothing else runs.
 *
 * Per attempt, in order: an open outage matching the syscall fails it (every call, for the
 * window), unless the outage names a model provider: that one goes to the attempt's scope and the
 * provider's driver fails the calls that reach it (scope.ts), so a route can fall back; then each
 * matching rule adds its latency and draws against its `errorRate`; the first rule whose draw hits
 * injects its named fault (realised by the driver, see scope.ts) or, without one, the layer's
 * transient error. Injected errors are retryable and carry `data.injected: true`,
 * so the pipeline's retries, the run engine's step retries and fallbacks recover from them as they
 * would from real ones. Every fault is returned as a mark for the call's audit entry and span, and
 * counted in `strata_chaos_faults_total{layer,kind}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter } from 'prom-client';
import type { Clock } from '../clock.ts';
import { StrataError } from '../errors.ts';
import type { ChaosConfig, ChaosOutage, ChaosRule, RuntimeMode } from './config.ts';
import { draw } from './draw.ts';
import { injectedError, layerOf, type FaultKind } from './faults.ts';
import type { ChaosScope, PlannedFault, PlannedOutage } from './scope.ts';

/** One injected fault, as the audit entry and the span record it. */
export interface FaultMark {
  readonly kind: FaultKind;
  readonly layer: string;
  /** Which part of the config caused it: `rules[0]`, `outages[1]`. */
  readonly rule: string;
  readonly attempt: number;
  readonly latencyMs?: number;
  /** Named faults and provider outages only: whether the driver made the failure happen. */
  readonly realised?: boolean;
}

export interface ChaosStatus {
  readonly enabled: boolean;
  readonly mode: RuntimeMode;
  readonly config: ChaosConfig;
  /** When the current configuration took effect (outage windows count from here). */
  readonly since: number;
  readonly openOutages: readonly string[];
  /** Faults injected since this process started, by layer and kind. */
  readonly faults: readonly { layer: string; kind: string; count: number }[];
  readonly total: number;
}

export interface ChaosInjectorOptions {
  readonly config: ChaosConfig;
  readonly mode: RuntimeMode;
  readonly clock: Clock;
}

const matches = (rule: ChaosRule | ChaosOutage, syscall: string, layer: string): boolean =>
  (rule.layer === undefined || rule.layer === layer) &&
  (rule.syscall === undefined ||
    rule.syscall === syscall ||
    (rule.syscall.endsWith('.*') && syscall.startsWith(rule.syscall.slice(0, -1))));

/** A provider outage only reaches the models layer's calls, whatever else it names. */
const outageMatches = (outage: ChaosOutage, syscall: string, layer: string): boolean =>
  matches(outage, syscall, layer) && (outage.provider === undefined || layer === 'models');

/** Throws E_CHAOS_REFUSED when `config` enables chaos in production mode without `force`. */
export function assertChaosAllowed(config: ChaosConfig, mode: RuntimeMode): void {
  if (config.enabled && mode === 'production' && !config.force)
    throw new StrataError(
      'E_CHAOS_REFUSED',
      'fault injection is refused in production mode; set chaos.force: true to inject faults anyway',
      { mode },
    );
}

export class ChaosInjector {
  /** The pipeline's only check when chaos is off. */
  enabled: boolean;
  readonly mode: RuntimeMode;
  readonly #clock: Clock;
  #config: ChaosConfig;
  #since: number;
  readonly #counters = new Map<string, number>();
  /** When each `from: 'first-call'` outage's first matching call came, by its index. */
  readonly #anchors = new Map<number, number>();
  readonly #counts = new Map<string, number>();
  #metric: Counter<'layer' | 'kind'> | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #kill: (() => void) | undefined;

  constructor(options: ChaosInjectorOptions) {
    assertChaosAllowed(options.config, options.mode);
    this.mode = options.mode;
    this.#clock = options.clock;
    this.#config = options.config;
    this.enabled = options.config.enabled;
    this.#since = options.clock.now();
  }

  get config(): ChaosConfig {
    return this.#config;
  }

  /** Counts every injected fault on this counter from now on. */
  countInto(metric: Counter<'layer' | 'kind'>): void {
    this.#metric = metric;
  }

  /** Replaces the configuration: call counters and outage windows start again from now. */
  set(config: ChaosConfig): void {
    assertChaosAllowed(config, this.mode);
    this.#config = config;
    this.enabled = config.enabled;
    this.#since = this.#clock.now();
    this.#counters.clear();
    this.#anchors.clear();
    if (this.#kill) this.armWorkerKill(this.#kill);
  }

  /** Starts one call's chaos; undefined for the `chaos.*` syscalls, which are never faulted. */
  begin(syscall: string): ChaosCall | undefined {
    if (syscall.startsWith('chaos.')) return undefined;
    const index = this.#counters.get(syscall) ?? 0;
    this.#counters.set(syscall, index + 1);
    return new ChaosCall(this, syscall, index);
  }

  /** Open outages matching `syscall` (all open ones when unset), by their config path. */
  openOutages(syscall?: string): string[] {
    return this.#open(syscall).map((o) => o.path);
  }

  #open(syscall?: string): { path: string; outage: ChaosOutage }[] {
    const now = this.#clock.now();
    const open: { path: string; outage: ChaosOutage }[] = [];
    for (const [i, o] of this.#config.outages.entries()) {
      // Matched only when it matters (every chaos-enabled call asks): before a first-call anchor is
      // set, and inside the window.
      const matches = (): boolean => syscall !== undefined && outageMatches(o, syscall, layerOf(syscall));
      // A call asking is the first matching one: the outage's clock starts with it.
      if (o.from === 'first-call' && !this.#anchors.has(i) && matches()) this.#anchors.set(i, now);
      const from = o.from === 'first-call' ? this.#anchors.get(i) : this.#since;
      if (from === undefined) continue;
      const elapsed = now - from;
      const inWindow = elapsed >= o.startAfterMs && elapsed < o.startAfterMs + o.durationMs;
      if (inWindow && (syscall === undefined || matches())) open.push({ path: `outages[${i}]`, outage: o });
    }
    return open;
  }

  /** The open outages of `syscall`: whole ones (the call fails) and model providers' ones. */
  outagesOf(syscall: string): { whole?: string; providers: { path: string; provider: string }[] } {
    const open = this.#open(syscall);
    const whole = open.find((o) => o.outage.provider === undefined)?.path;
    const providers = open.flatMap(({ path, outage }) =>
      outage.provider === undefined ? [] : [{ path, provider: outage.provider }],
    );
    return { ...(whole === undefined ? {} : { whole }), providers };
  }

  /** Records an injected fault in the counts and the metric. */
  count(layer: string, kind: FaultKind): void {
    const key = `${layer}\0${kind}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    this.#metric?.inc({ layer, kind });
  }

  /**
   * In a process that runs a worker: SIGKILLs this process `killWorkerAfterMs` after now, as an
   * operator's `kill -9` would (no handler runs, leases are left to expire). `kill` is for tests.
   * A later `set` re-arms it from then.
   */
  armWorkerKill(kill: () => void = () => process.kill(process.pid, 'SIGKILL')): void {
    this.#kill = kill;
    const after = this.#config.killWorkerAfterMs;
    clearTimeout(this.#killTimer);
    if (!this.enabled || after === undefined) return;
    this.#killTimer = setTimeout(kill, after);
    this.#killTimer.unref();
  }

  status(): ChaosStatus {
    const faults = [...this.#counts].map(([key, count]) => {
      const [layer = '', kind = ''] = key.split('\0');
      return { layer, kind, count };
    });
    return {
      enabled: this.enabled,
      mode: this.mode,
      config: this.#config,
      since: this.#since,
      openOutages: this.enabled ? this.openOutages() : [],
      faults,
      total: faults.reduce((sum, f) => sum + f.count, 0),
    };
  }
}

/** The chaos of one syscall call, across its attempts. */
export class ChaosCall {
  readonly #injector: ChaosInjector;
  readonly syscall: string;
  readonly layer: string;
  readonly index: number;
  /** Each mark, with what its driver reports for a named fault or a provider outage. */
  readonly #marks: { mark: FaultMark; planned?: { realised: boolean } }[] = [];

  constructor(injector: ChaosInjector, syscall: string, index: number) {
    this.#injector = injector;
    this.syscall = syscall;
    this.layer = layerOf(syscall);
    this.index = index;
  }

  /** The faults injected so far (named ones say whether their driver realised them). */
  marks(): FaultMark[] {
    return this.#marks.map(({ mark, planned }) => (planned ? { ...mark, realised: planned.realised } : mark));
  }

  #mark(mark: FaultMark, planned?: { realised: boolean }): void {
    this.#marks.push({ mark, planned });
    this.#injector.count(mark.layer, mark.kind);
  }

  /**
   * Runs before the handler of `attempt`: sleeps for injected latency, throws an injected error,
   * or returns the named fault and provider outages the handler's drivers must realise.
   */
  async before(attempt: number, signal: AbortSignal): Promise<ChaosScope | undefined> {
    const injector = this.#injector;
    if (!injector.enabled) return undefined;
    const { seed, rules } = injector.config;
    const { syscall, layer, index } = this;
    const { whole, providers } = injector.outagesOf(syscall);
    if (whole !== undefined) {
      this.#mark({ kind: 'outage', layer, rule: whole, attempt });
      throw injectedError(syscall, 'outage', whole);
    }
    const outages = providers.map(({ path, provider }) => {
      const planned: PlannedOutage = { provider, rule: path, realised: false };
      this.#mark({ kind: 'outage', layer, rule: path, attempt }, planned);
      return planned;
    });
    const scope = (fault?: PlannedFault): ChaosScope | undefined =>
      fault || outages.length
        ? { ...(fault ? { fault } : {}), ...(outages.length ? { outages } : {}) }
        : undefined;
    let latencyMs = 0;
    let hit: { rule: ChaosRule; path: string } | undefined;
    for (const [i, rule] of rules.entries()) {
      if (!matches(rule, syscall, layer)) continue;
      const key = { seed, syscall, index, attempt };
      if (typeof rule.latencyMs === 'number') latencyMs += rule.latencyMs;
      else if (rule.latencyMs) {
        const { min, max } = rule.latencyMs;
        latencyMs += min + Math.floor(draw({ ...key, salt: `latency:${i}` }) * (max - min + 1));
      }
      if (!hit && rule.errorRate > 0 && draw({ ...key, salt: `rule:${i}` }) < rule.errorRate)
        hit = { rule, path: `rules[${i}]` };
    }
    if (latencyMs > 0) {
      this.#mark({ kind: 'latency', layer, rule: 'rules', attempt, latencyMs });
      await sleep(latencyMs, undefined, { signal });
    }
    if (!hit) return scope();
    if (hit.rule.fault === undefined) {
      this.#mark({ kind: 'error', layer, rule: hit.path, attempt });
      throw injectedError(syscall, 'error', hit.path);
    }
    const planned: PlannedFault = { fault: hit.rule.fault, realised: false };
    this.#mark({ kind: hit.rule.fault, layer, rule: hit.path, attempt }, planned);
    return scope(planned);
  }
}
