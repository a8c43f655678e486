/**
 * @module server/runtime
 * Turns a configuration into a running kernel: the data directory, the master key, the store, the
 * kernel with every layer's syscalls registered, the orchestration engine on the same store (its
 * `runs.*` syscalls on the kernel, its meter hook charging syscall costs to runs), optionally an
 * in-process worker, and — on first start — a default tenant with an admin API key. The server
 * and the CLI both start here, so they always see the same state.
 *
 * Shutdown order matters: the worker stops first (its runs still make syscalls, which a draining
 * kernel would refuse — and a refused syscall fails the run), then the kernel drains and closes
 * the store.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ChaosInjector,
  databaseUrlOf,
  isStrataError,
  Kernel,
  openStore,
  parseMasterKey,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type StrataConfig,
} from '../kernel/index.ts';
import { BrowserSessions, browserSyscalls } from '../compute/index.ts';
import { openSandboxes, sandboxSyscalls, type SandboxManager } from '../compute/index.ts';
import { MemoryService, memorySyscalls } from '../memory/index.ts';
import {
  CheckMetering,
  mailReworkNotifier,
  MergeQueues,
  mergeQueueSyscalls,
  ReworkTasks,
  sandboxRunner,
} from '../mergequeue/index.ts';
import {
  AGENT_LAYER,
  agentMigrations,
  BudgetPauses,
  budgetPauseSyscalls,
  Engine,
  fleetSyscalls,
  costSyscall,
  registerFleetMetrics,
  openFleetAlerts,
  runSyscalls,
  RunStreams,
  Worker,
  type WorkflowDefinition,
} from '../orchestration/index.ts';
import { attachTools, ToolsLayer, toolsSyscalls } from '../tools/index.ts';
import {
  ModelService,
  modelSyscalls,
  parseModelsConfig,
  registerCapacityMetrics,
  type ModelProvider,
} from '../models/index.ts';
import {
  Billing,
  billingSyscalls,
  composeMeters,
  PriceBook,
  priceSyscalls,
  provisionSyscalls,
  Rating,
  SpendTokens,
  spendTokenSyscalls,
  type ResourceManager,
} from '../provisioning/index.ts';
import { a2aEchoWorkflow } from './a2a-runs.ts';
import { registerDriverHealth } from './driver-health.ts';
import { openIdentity, type IdentityLayer } from './identity.ts';
import { openProvisioning } from './provisioning.ts';

export interface Runtime {
  readonly kernel: Kernel;
  readonly engine: Engine;
  /** The in-process worker, when the runtime was opened with `worker: true`. */
  readonly worker: Worker | undefined;
  /** The tools layer: MCP gateway, OpenAPI connectors, vault (its syscalls are on the kernel). */
  readonly tools: ToolsLayer;
  /** The models layer: providers, routes with fallbacks, price book (`model.*` syscalls). */
  readonly models: ModelService;
  /** The token side channel: deltas of runs' model calls (`GET /v1/runs/:id/stream`). */
  readonly runStreams: RunStreams;
  /** The memory layer (its `memory.*` syscalls are on the kernel). */
  readonly memory: MemoryService;
  /** Browser sessions (Chromium starts on the first `browser.open`; closed on `close()`). */
  readonly browsers: BrowserSessions;
  /** Sandboxes (bubblewrap): ephemeral ones are destroyed on `close()`, persistent ones stay on disk. */
  readonly sandboxes: SandboxManager;
  /** Merge queues (`mq.*`): repositories under `<dataDir>/repos`, checks in sandboxes. */
  readonly mergeQueues: MergeQueues;
  /** Billing core: ledger, budgets (the kernel's budget hook), meters (`billing.*` syscalls). */
  readonly billing: Billing;
  /** The provisioner: databases, files, sandboxes and browser contexts on demand (`provision.*`). */
  readonly resources: ResourceManager;
  /** The price book and rating: invoices per UTC month (`billing.prices.*`, `billing.invoice`). */
  readonly rating: Rating;
  /** Agent identities, delegation, mailboxes (and the SMTP server), `a2a.call`. */
  readonly identity: IdentityLayer;
  readonly config: StrataConfig;
  /** Fault injection (`chaos.*` syscalls; config `chaos`); disabled unless configured or set. */
  readonly chaos: ChaosInjector;
  readonly databaseUrl: string;
  /**
   * Stops the worker: no new claims; runs in progress finish or suspend, for up to
   * `server.drainTimeoutMs`. Idempotent; a no-op without a worker.
   */
  stopWorker(): Promise<void>;
  /** Stops the worker, drains the kernel, flushes the audit log and closes the store. Idempotent. */
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  config: StrataConfig;
  logger?: Logger;
  clock?: Clock;
  /** Registered on the engine before the worker starts (see `loadWorkflows`). */
  workflows?: readonly WorkflowDefinition[];
  /** Start an in-process worker (concurrency `orchestration.concurrency`). @default false */
  worker?: boolean;
  /** Model providers made in code (e.g. a scripted one for offline demos), by provider name. */
  modelProviders?: Readonly<Record<string, ModelProvider>>;
}

/** The master key from config, else from `<dataDir>/master.key`, created (mode 0600) on first use. */
export function loadMasterKey(config: StrataConfig): Buffer {
  if (config.masterKey) return parseMasterKey(config.masterKey);
  const dir = resolve(config.dataDir);
  const file = join(dir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return parseMasterKey(readFileSync(file, 'utf8').trim());
}

/**
 * Stops a worker gracefully, waiting at most `timeoutMs`; shutdown then goes on without it. Runs
 * still executing can no longer write once the store closes, so they are left to their leases: a
 * worker (here after a restart, or elsewhere) resumes them by replay when the leases expire. No
 * journaled step is lost; the step in progress runs again (steps are at-least-once).
 */
async function stopWithin(worker: Worker, timeoutMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolveLate) => {
    timer = setTimeout(() => resolveLate('late'), timeoutMs);
  });
  const outcome = await Promise.race([worker.stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    logger.warn(
      { worker: worker.id, activeRuns: worker.activeRuns, timeoutMs },
      'runs still executing at shutdown; their leases will expire and they resume by replay',
    );
  }
}

export async function openRuntime(options: OpenRuntimeOptions): Promise<Runtime> {
  const { config } = options;
  const logger = options.logger ?? silentLogger();
  // Fault injection: off unless configured; E_CHAOS_REFUSED in production mode without force.
  const chaos = new ChaosInjector({
    config: config.chaos,
    mode: config.mode,
    clock: options.clock ?? systemClock,
  });
  mkdirSync(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const masterKey = loadMasterKey(config);
  const databaseUrl = databaseUrlOf(config);
  const store = await openStore(databaseUrl);
  try {
    const engine = await Engine.open({ store, clock: options.clock });
    await store.migrate(AGENT_LAYER, agentMigrations); // the agent loop's prompt blobs
    engine.register(a2aEchoWorkflow); // what exposed A2A agents run unless bound to a workflow
    for (const workflow of options.workflows ?? []) engine.register(workflow);
    // Budgets admit every syscall by reservation; every metered syscall also emits a meter event.
    const billing = await Billing.open({
      store,
      clock: options.clock,
      logger: logger.child({ component: 'billing' }),
    });
    const kernel = await Kernel.open({
      store,
      masterKey,
      logger,
      clock: options.clock,
      chaos,
      budget: billing.budgetHook,
      meter: composeMeters(engine.meterHook, billing.meterHook),
    });
    engine.attachKernel(kernel);
    for (const definition of billingSyscalls(billing)) kernel.register(definition);
    const prices = await PriceBook.open({ store, clock: options.clock ?? systemClock });
    const rating = new Rating({ billing, prices });
    const spendTokens = await SpendTokens.open({ store, ledger: billing.ledger, clock: options.clock });
    for (const definition of spendTokenSyscalls(spendTokens, { currency: billing.currency }))
      kernel.register(definition);
    billing.startReaper(5000, () => spendTokens.expireDue());
    for (const definition of runSyscalls(engine)) kernel.register(definition);
    for (const definition of fleetSyscalls(engine)) kernel.register(definition); // supervision trees
    kernel.register(costSyscall(engine, { currency: billing.currency })); // cost per task
    registerFleetMetrics(kernel.metrics.registry, store); // fleet counters on /metrics
    const tools = await ToolsLayer.open({ store, masterKey, clock: options.clock, logger });
    for (const definition of toolsSyscalls(tools)) kernel.register(definition);
    attachTools(kernel, tools);
    const models = new ModelService({
      config: parseModelsConfig(config.models),
      providers: options.modelProviders,
      // Provider keys live in the vault, per tenant (or per principal); a missing one is reported
      // by the models layer with the entry to create.
      resolveSecret: (call, name) =>
        tools.vault.reveal(call.tenantId, name, call.principalId ?? '').then(
          (found) => found.value,
          (error: unknown) => {
            if (isStrataError(error) && error.code === 'E_NOT_FOUND') return undefined;
            throw error;
          },
        ),
    });
    // Model calls made by runs stream their deltas to the side channel; only results are journaled.
    const runStreams = await RunStreams.open({ store, clock: options.clock });
    for (const definition of modelSyscalls(models, { deltas: runStreams })) kernel.register(definition);
    registerCapacityMetrics(kernel.metrics.registry, models.capacity); // queue waits, Retry-After pauses
    const memory = await MemoryService.open({ store, clock: options.clock });
    for (const definition of memorySyscalls(memory, { kernel })) kernel.register(definition);
    const profilesDir = join(resolve(config.dataDir), 'browser', 'profiles');
    const browsers = await BrowserSessions.open({
      store,
      profilesDir,
      pool: { executablePath: config.browser.executablePath, spareContexts: config.browser.spareContexts },
      idleTimeoutMs: config.browser.idleTimeoutMs,
      maxSessions: config.browser.maxSessions,
      clock: options.clock,
      logger: logger.child({ component: 'browser' }),
    });
    for (const definition of browserSyscalls(browsers)) kernel.register(definition);
    const sandboxes = await openSandboxes({
      dataDir: config.dataDir,
      clock: options.clock,
      logger: logger.child({ component: 'sandbox' }),
    });
    for (const definition of sandboxSyscalls(sandboxes)) kernel.register(definition);
    // A change sent to rework becomes its author's task: one durable run per entry.
    const reworks = new ReworkTasks({
      engine,
      agents: (tenantId) => kernel.principals.listAgents(tenantId),
      logger: logger.child({ component: 'mergequeue' }),
    });
    const mergeQueues = await MergeQueues.open({
      store,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [join(resolve(config.dataDir), 'repos')],
      clock: options.clock,
      logger: logger.child({ component: 'mergequeue' }),
      onRework: reworks.onRework,
      // Check time billed to each change's author (`mq.check_seconds` meter events).
      metering: new CheckMetering(billing.meters, logger.child({ component: 'mergequeue' })),
      // A remote repository's credentials: the tenant-wide vault connection its queue names.
      secrets: async (tenantId, name) => (await tools.vault.reveal(tenantId, name, '')).value,
    });
    for (const definition of mergeQueueSyscalls(mergeQueues)) kernel.register(definition);
    const { resources, sweeper } = await openProvisioning(
      {
        store,
        config,
        masterKey,
        kernel,
        billing,
        sandboxes,
        browsers,
        profilesDir,
        clock: options.clock ?? systemClock,
        logger: logger.child({ component: 'provisioning' }),
        prices,
        spendTokens,
      },
      databaseUrl,
    );
    for (const definition of provisionSyscalls(resources)) kernel.register(definition);
    const identity = await openIdentity({
      store,
      kernel,
      config,
      masterKey,
      clock: options.clock ?? systemClock,
      engine,
      logger: logger.child({ component: 'identity' }),
      revealSecret: async (tenantId, name, principalId) =>
        (await tools.vault.reveal(tenantId, name, principalId)).value,
    });
    registerDriverHealth(kernel, { browsers, sandboxes, mail: identity.mail, tools, models });
    // Approvals (email replies decide them) and escalations (mailed through the identity layer).
    const alerts = await openFleetAlerts({
      store,
      kernel,
      engine,
      masterKey,
      clock: options.clock ?? systemClock,
      logger: logger.child({ component: 'alerts' }),
      mail: identity.mail,
      identities: identity.identities,
      allowPrivate: config.network.allowPrivate,
    });
    // Persons are mailed their rework from the mailbox the tenant's escalations leave from.
    reworks.setNotifier(
      mailReworkNotifier(
        identity.mail,
        async (tenantId) => (await alerts.escalations.route(tenantId)).mailbox,
      ),
    );
    // A run refused by a budget pauses; an approved raise (billing) resumes it.
    const budgetPauses = await BudgetPauses.open({
      store,
      engine,
      clock: options.clock,
      raiser: {
        raiseTo: async (tenantId, budgetId, limit) =>
          void (await billing.budgets.raiseTo(tenantId, budgetId, limit)),
      },
    });
    for (const definition of budgetPauseSyscalls(budgetPauses)) kernel.register(definition);
    const summaries = async (
      tenantId: string,
    ): Promise<{ id: string; kind: string; name: string; state: string }[]> =>
      (await resources.list(tenantId)).map((r) => ({ id: r.id, kind: r.kind, name: r.name, state: r.state }));
    for (const definition of priceSyscalls({ rating, resources: summaries })) kernel.register(definition);
    const timeoutMs = config.server.drainTimeoutMs;
    const worker = options.worker
      ? new Worker(engine, {
          concurrency: config.orchestration.concurrency,
          logger: logger.child({ component: 'worker' }),
        })
      : undefined;
    await worker?.start();
    if (worker) chaos.armWorkerKill(); // chaos.killWorkerAfterMs: a `kill -9` of this worker process
    // Queues with unfinished entries resume where a worker process runs (after a crash, too).
    if (worker) await mergeQueues.resumeAll((await kernel.principals.listTenants()).map((t) => t.id));
    if (worker) await reworks.reconcile(); // reworks whose run a crash kept from starting
    let stopping: Promise<void> | undefined;
    let closing: Promise<void> | undefined;
    const stopWorker = (): Promise<void> =>
      (stopping ??= worker ? stopWithin(worker, timeoutMs, logger) : Promise.resolve());
    const close = async (): Promise<void> => {
      await stopWorker();
      // Calls in flight finish first; then resources, browser sessions (recorded in the store) and
      // sandboxes close, and the store closes last. Each step runs even if an earlier one threw,
      // so one failing part never leaves the store or MCP server processes open; the first error
      // is rethrown at the end.
      const steps: (() => Promise<unknown>)[] = [
        () => kernel.drain(timeoutMs),
        () => identity.close(),
        () => alerts.close(),
        () => sweeper.stop(),
        () => resources.close(),
        () => browsers.close(),
        () => mergeQueues.close(),
        () => sandboxes.close(),
        () => billing.close(),
        () => kernel.close(timeoutMs),
        () => tools.close(),
      ];
      const errors: unknown[] = [];
      for (const step of steps) await step().catch((error: unknown) => errors.push(error));
      if (errors.length > 0) throw errors[0];
    };
    return {
      kernel,
      engine,
      worker,
      tools,
      models,
      runStreams,
      memory,
      browsers,
      sandboxes,
      mergeQueues,
      billing,
      resources,
      rating,
      identity,
      config,
      chaos,
      databaseUrl,
      stopWorker,
      close: () => (closing ??= close()),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export interface BootstrapResult {
  readonly tenantId: string;
  /** Set only when the key was created now: it is shown once and never stored in clear. */
  readonly adminKey?: string;
  readonly adminKeyFile?: string;
}

/**
 * On an empty database, creates tenant `default` and an admin key granted every syscall, and saves
 * the key to `<dataDir>/admin.key` (mode 0600) so the CLI on this machine can use it.
 */
export async function bootstrapDefaultTenant(runtime: Runtime): Promise<BootstrapResult> {
  const { principals } = runtime.kernel;
  const tenants = await principals.listTenants();
  if (tenants.length > 0) return { tenantId: (tenants[0] as { id: string }).id };
  const tenant = await principals.createTenant('default');
  const { key } = await principals.createApiKey({
    tenantId: tenant.id,
    name: 'admin',
    grants: [{ syscall: '*', resource: '*' }],
  });
  const adminKeyFile = join(resolve(runtime.config.dataDir), 'admin.key');
  writeFileSync(adminKeyFile, key + '\n', { mode: 0o600 });
  chmodSync(adminKeyFile, 0o600);
  return { tenantId: tenant.id, adminKey: key, adminKeyFile };
}
