/**
 * @module kernel/kernel
 * The kernel: one object holding the store, the principals, the capability authority, the audit
 * log, the event bus, the syscall registry and the pipeline. Layers register syscalls on it;
 * surfaces (HTTP, MCP, CLI, SDK) authenticate a caller and hand the call to `kernel.call`.
 *
 * @example
 * const kernel = await Kernel.open({ store, masterKey });
 * const principal = await kernel.authenticate({ apiKey });
 * await kernel.call('kernel.echo', { message: 'hi' }, { principal });
 */
import type { Tracer } from '@opentelemetry/api';
import { AuditLog } from './audit/audit-log.ts';
import { resolvePrincipal, type Credentials } from './auth/authenticate.ts';
import { CapabilityAuthority } from './auth/capabilities.ts';
import { migrateAuth } from './auth/migrations.ts';
import type { Principal } from './auth/principal.ts';
import { Principals } from './auth/principals.ts';
import { adminSyscalls } from './builtins/admin.ts';
import { keySyscalls } from './builtins/keys.ts';
import { echo, time, whoami } from './builtins/basic.ts';
import { eventsRead } from './builtins/events.ts';
import { systemClock, type Clock } from './clock.ts';
import { StrataError } from './errors.ts';
import type { ChaosInjector } from './chaos/injector.ts';
import { chaosSyscalls } from './chaos/syscalls.ts';
import { EventBus } from './events/bus.ts';
import { DriverHealthBoard } from './health.ts';
import { silentLogger, type Logger } from './logger.ts';
import { KernelMetrics } from './metrics.ts';
import type { Store } from './store/store.ts';
import { erase, type SyscallDefinition } from './syscalls/define.ts';
import {
  noBudget,
  noJournal,
  noMeter,
  type BudgetHook,
  type JournalHook,
  type MeterHook,
} from './syscalls/hooks.ts';
import { SyscallPipeline, type CallOptions } from './syscalls/pipeline.ts';
import { SyscallRegistry } from './syscalls/registry.ts';

export interface KernelOptions {
  store: Store;
  /** 32 bytes that seal private keys at rest. */
  masterKey: Buffer;
  /** @default systemClock */
  clock?: Clock;
  /** @default a silent logger */
  logger?: Logger;
  budget?: BudgetHook;
  journal?: JournalHook;
  meter?: MeterHook;
  tracer?: Tracer;
  /** Fault injection; absent or disabled, the pipeline injects nothing. */
  chaos?: ChaosInjector;
}

export class Kernel {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly principals: Principals;
  readonly authority: CapabilityAuthority;
  readonly audit: AuditLog;
  readonly events: EventBus;
  readonly registry = new SyscallRegistry();
  readonly metrics = new KernelMetrics();
  /** The drivers' health readers, registered by the layers (see health.ts). */
  readonly health = new DriverHealthBoard();
  readonly #pipeline: SyscallPipeline;
  #inFlight = 0;
  #draining: { resolve: () => void } | null = null;
  #closed = false;

  private constructor(
    options: KernelOptions & { clock: Clock; logger: Logger },
    parts: { principals: Principals; authority: CapabilityAuthority; audit: AuditLog; events: EventBus },
  ) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.principals = parts.principals;
    this.authority = parts.authority;
    this.audit = parts.audit;
    this.events = parts.events;
    this.#pipeline = new SyscallPipeline({
      registry: this.registry,
      authority: this.authority,
      audit: this.audit,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      budget: options.budget ?? noBudget,
      journal: options.journal ?? noJournal,
      meter: options.meter ?? noMeter,
      tracer: options.tracer,
      chaos: options.chaos,
    });
    options.chaos?.countInto(this.metrics.chaosFaults);
  }

  /** Migrates the kernel's schema, loads keys, and registers the built-in syscalls. */
  static async open(options: KernelOptions): Promise<Kernel> {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger();
    const { store } = options;
    await migrateAuth(store);
    const principals = new Principals({ store, clock });
    const authority = await CapabilityAuthority.open({ store, clock, masterKey: options.masterKey });
    const audit = await AuditLog.open({ store, clock });
    const events = await EventBus.open({ store, clock, logger });
    const kernel = new Kernel({ ...options, clock, logger }, { principals, authority, audit, events });
    for (const definition of [
      erase(echo),
      erase(time),
      erase(whoami),
      erase(eventsRead(store)),
      ...adminSyscalls({ authority, audit }),
      ...keySyscalls(principals),
      ...(options.chaos ? chaosSyscalls(options.chaos) : []),
    ]) {
      kernel.register(definition);
    }
    return kernel;
  }

  register<TInput, TOutput>(definition: SyscallDefinition<TInput, TOutput>): void {
    this.registry.register(definition);
  }

  /** Resolves an API key and/or capability token into the principal that will make calls. */
  authenticate(credentials: Credentials): Promise<Principal> {
    return resolvePrincipal(credentials, this.principals, (token) => this.authority.verify(token));
  }

  /** Runs one syscall through the pipeline. */
  async call<TOutput = unknown>(name: string, input: unknown, options: CallOptions): Promise<TOutput> {
    if (this.#draining || this.#closed)
      throw new StrataError('E_SHUTTING_DOWN', 'Strata is shutting down; retry on another node');
    this.#inFlight++;
    try {
      return (await this.#pipeline.call(name, input, options)) as TOutput;
    } finally {
      if (--this.#inFlight === 0) this.#settle();
    }
  }

  #settle(): void {
    this.#draining?.resolve();
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refuses new calls and waits for in-flight ones (up to `timeoutMs`); returns how many were left. */
  async drain(timeoutMs: number): Promise<number> {
    const done = new Promise<void>((resolve) => {
      this.#draining = { resolve };
      if (this.#inFlight === 0) resolve();
    });
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    await this.audit.flush();
    return this.#inFlight;
  }

  /** Drains, then closes the store. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return;
    await this.drain(timeoutMs);
    this.#closed = true;
    await this.store.close();
  }
}
