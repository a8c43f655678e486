/**
 * @module mergequeue/rework
 * Rework tasks: when an entry ends in `needs_rework` (a conflict, or a dependency that will not
 * merge), its author gets a task — a durable run of {@link REWORK_WORKFLOW} (rework-workflow.ts)
 * that puts it on the fleet task board and starts the author agent's run or notifies the person.
 * The queue does not wait for any of it.
 *
 * Exactly one per entry: the run is started with the entry as its idempotency key, so an event
 * fired again (a worker restarted, a hook retried) finds the first run. An event lost to a crash
 * between the entry's move and the start is found by {@link ReworkTasks.reconcile} at the next
 * start: every `needs_rework` entry with no rework run gets one.
 *
 * @example
 * const reworks = new ReworkTasks({ engine });
 * const queues = await MergeQueues.open({ ...options, onRework: reworks.onRework });
 * await reworks.reconcile();
 */
import { silentLogger, type Logger, type Principal } from '../kernel/index.ts';
import type { Engine, Run } from '../orchestration/index.ts';
import {
  REWORK_PRINCIPAL_ID,
  REWORK_WORKFLOW,
  reworkKey,
  reworkWorkflow,
  type ReworkDeps,
  type ReworkNotifier,
} from './rework-workflow.ts';
import { QueueStore } from './store.ts';
import type { ReworkEvent } from './worker.ts';

export {
  REWORK_WORKFLOW,
  type Rework,
  type ReworkNotice,
  type ReworkNotifier,
  type ReworkOutcome,
} from './rework-workflow.ts';
export { mailReworkNotifier } from './rework-mail.ts';

export interface ReworkTasksOptions {
  /** Rework runs are registered on it (before its workers start) and started through it. */
  readonly engine: Engine;
  /** The tenant's agent principals: an author naming one is an agent. @default none */
  readonly agents?: ReworkDeps['agents'];
  /** How persons are told; without one they find the task on the board. */
  readonly notifier?: ReworkNotifier;
  readonly logger?: Logger;
}

/** The principal rework runs act as: the merge queue itself, with no syscall grants. */
const reworkPrincipal = (tenantId: string): Principal => ({
  tenantId,
  id: REWORK_PRINCIPAL_ID,
  kind: 'agent',
  grants: [],
});

export class ReworkTasks {
  readonly #engine: Engine;
  readonly #logger: Logger;
  #notifier: ReworkNotifier | undefined;

  constructor(options: ReworkTasksOptions) {
    this.#engine = options.engine;
    this.#logger = options.logger ?? silentLogger();
    this.#notifier = options.notifier;
    options.engine.register(
      reworkWorkflow({
        engine: options.engine,
        rows: new QueueStore(options.engine.store),
        agents: options.agents,
        notifier: () => this.#notifier,
      }),
    );
  }

  /** Sets how persons are told (the runtime opens mail after the queues). */
  setNotifier(notifier: ReworkNotifier): void {
    this.#notifier = notifier;
  }

  /** The queues' `onRework` hook. */
  readonly onRework = async (event: ReworkEvent): Promise<void> => {
    await this.deliver(event);
  };

  /** Starts the entry's rework run, or returns the one already started for it. */
  deliver(event: Pick<ReworkEvent, 'tenantId' | 'entry'>): Promise<Run> {
    return this.#engine.start(
      REWORK_WORKFLOW,
      { entry: event.entry },
      { principal: reworkPrincipal(event.tenantId), idempotencyKey: reworkKey(event.entry) },
    );
  }

  /**
   * Delivers the rework of every `needs_rework` entry (all tenants) that has no rework run yet:
   * an event lost to a crash, or entries from before rework tasks existed. Returns how many.
   */
  async reconcile(): Promise<number> {
    const missing = await this.#engine.store.all<{ tenant_id: string; id: string }>(
      `SELECT e.tenant_id, e.id FROM mq_entries e WHERE e.state = 'needs_rework' AND NOT EXISTS (
         SELECT 1 FROM orch_runs r WHERE r.tenant_id = e.tenant_id AND r.idempotency_key = ? || e.id)
       ORDER BY e.tenant_id, e.id`,
      [reworkKey('')], // the prefix of every entry's key
    );
    let delivered = 0;
    for (const row of missing) {
      try {
        await this.deliver({ tenantId: row.tenant_id, entry: row.id });
        delivered++;
      } catch (error) {
        this.#logger.warn({ entry: row.id, err: error }, 'delivering a rework task failed');
      }
    }
    return delivered;
  }
}
