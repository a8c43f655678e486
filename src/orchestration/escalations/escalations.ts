/**
 * @module orchestration/escalations/escalations
 * Escalations over the store: raise (deduplicated by key), list, ack, resolve, routes per tenant,
 * and the sweeps that bump stale items and deliver notifications. {@link raiseEscalation} is a
 * plain function over a `Queryable`, so any code holding a store or a transaction — a supervisor
 * giving up at the root, a budget hook, the dead-letter sweep — raises one in its own transaction.
 * Every raise (new item or bump), ack and resolve publishes `escalation:changed` `{ id, status }`
 * on the kernel event bus in the same transaction.
 */
import {
  eventMigrations,
  EVENTS_LAYER,
  newId,
  publishEvent,
  StrataError,
  systemClock,
  type Clock,
  type Logger,
  type Queryable,
  type Store,
  type Transaction,
} from '../../kernel/index.ts';
import {
  DEFAULT_STALE_AFTER_MS,
  routeSchema,
  severityRank,
  toEscalation,
  type Escalation,
  type EscalationRow,
  type EscalationStatus,
  type Route,
  type Severity,
} from './escalation-row.ts';
import { ESCALATIONS_LAYER, escalationMigrations, startDeadLetterCursor } from './migrations.ts';

export interface RaiseInput {
  /** Items with the same key in a tenant are one item while it is not resolved. */
  readonly key: string;
  readonly severity: Severity;
  readonly title: string;
  readonly detail?: string;
  /** What raised it: `supervision`, `budget`, `runs`, `approvals`, a caller's own name. */
  readonly source: string;
}

/**
 * Resolves the unresolved item with `key`, if any, in `q` (a store or an open transaction): for
 * code that raised it by key and now knows its cause is gone (e.g. an exhausted budget raised).
 */
export async function resolveEscalationByKey(
  q: Queryable,
  tenant: string,
  at: { key: string; by: string; now: number },
): Promise<void> {
  await atomically(q, async (tx) => {
    const resolved = await tx.all<{ id: string }>(
      `UPDATE orch_escalations SET status = 'resolved', resolved_by = ?, resolved_at = ?
       WHERE tenant_id = ? AND dedup_key = ? AND status <> 'resolved' RETURNING id`,
      [at.by, at.now, tenant, at.key],
    );
    for (const { id } of resolved) await publishChanged(tx, tenant, { id, status: 'resolved' }, at.now);
  });
}

/** `fn` in a transaction (a savepoint inside the caller's): the change and its event commit together. */
function atomically<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return 'transaction' in q ? (q as Transaction).transaction(fn) : fn(q);
}

/** `escalation:changed`, last in the transaction of the change (see kernel/events/bus.ts). */
function publishChanged(
  q: Queryable,
  tenant: string,
  item: { id: string; status: EscalationStatus },
  now: number,
): Promise<number> {
  return publishEvent(
    q,
    { topic: 'escalation:changed', tenantId: tenant, payload: { id: item.id, status: item.status } },
    now,
  );
}

/** Delivers one notification of an item (first raise, or a bump) through the tenant's route. */
export type Notifier = (tenant: string, escalation: Escalation, route: Route) => Promise<void>;

/**
 * Raises an escalation in `q` (a store or an open transaction): a new open item, or one more on
 * the open item with the same key (count + 1; a higher severity is kept and notified again).
 */
export function raiseEscalation(
  q: Queryable,
  tenant: string,
  input: RaiseInput,
  now: number = Date.now(),
): Promise<Escalation> {
  // A savepoint inside a caller's transaction: the item and its event commit with it.
  return atomically(q, async (tx) => {
    const escalation = await upsertEscalation(tx, tenant, input, now);
    await publishChanged(tx, tenant, escalation, now);
    return escalation;
  });
}

async function upsertEscalation(
  q: Queryable,
  tenant: string,
  input: RaiseInput,
  now: number,
): Promise<Escalation> {
  const row = await q.get<EscalationRow>(
    `INSERT INTO orch_escalations (id, tenant_id, dedup_key, severity, title, detail, source, status, count,
       first_at, last_at, escalated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', 1, ?, ?, ?)
     ON CONFLICT (tenant_id, dedup_key) WHERE status <> 'resolved' DO UPDATE SET
       count = orch_escalations.count + 1, last_at = excluded.last_at,
       notify_pending = CASE WHEN excluded.severity < orch_escalations.severity THEN 1
         ELSE orch_escalations.notify_pending END,
       severity = CASE WHEN excluded.severity < orch_escalations.severity THEN excluded.severity
         ELSE orch_escalations.severity END
     RETURNING *`,
    [
      newId('esc', now),
      tenant,
      input.key,
      severityRank(input.severity),
      input.title,
      input.detail ?? null,
      input.source,
      now,
      now,
      now,
    ],
  );
  if (!row) throw new StrataError('E_INTERNAL', 'raising an escalation returned no row');
  return toEscalation(row);
}

export interface EscalationFilter {
  readonly status?: EscalationStatus | 'unresolved' | 'all';
  readonly severity?: Severity;
  readonly limit?: number;
}

export class Escalations {
  readonly store: Store;
  readonly clock: Clock;
  #notifier: Notifier | undefined;

  private constructor(store: Store, clock: Clock) {
    this.store = store;
    this.clock = clock;
  }

  static async open(options: { store: Store; clock?: Clock }): Promise<Escalations> {
    await options.store.migrate(EVENTS_LAYER, eventMigrations); // escalation:changed goes to the outbox
    await options.store.migrate(ESCALATIONS_LAYER, escalationMigrations);
    const clock = options.clock ?? systemClock;
    await startDeadLetterCursor(options.store, clock.now());
    return new Escalations(options.store, clock);
  }

  /** How notifications leave (set by the runtime: mail through the identity layer). */
  setNotifier(notifier: Notifier): void {
    this.#notifier = notifier;
  }

  raise(tenant: string, input: RaiseInput, q: Queryable = this.store): Promise<Escalation> {
    return raiseEscalation(q, tenant, input, this.clock.now());
  }

  async get(tenant: string, id: string): Promise<Escalation> {
    const row = await this.store.get<EscalationRow>(
      'SELECT * FROM orch_escalations WHERE id = ? AND tenant_id = ?',
      [id, tenant],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no escalation ${id.slice(0, 60)} in this tenant`);
    return toEscalation(row);
  }

  async list(tenant: string, filter: EscalationFilter = {}): Promise<Escalation[]> {
    const where = ['tenant_id = ?'];
    const params: (string | number)[] = [tenant];
    const status = filter.status ?? 'unresolved';
    if (status === 'unresolved') where.push("status <> 'resolved'");
    else if (status !== 'all') {
      where.push('status = ?');
      params.push(status);
    }
    if (filter.severity !== undefined) {
      where.push('severity = ?');
      params.push(severityRank(filter.severity));
    }
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rows = await this.store.all<EscalationRow>(
      `SELECT * FROM orch_escalations WHERE ${where.join(' AND ')} ORDER BY severity, last_at DESC, id LIMIT ?`,
      params,
    );
    return rows.map(toEscalation);
  }

  /** Acknowledged: someone is on it, so it is no longer bumped. Only an open item can be acked. */
  ack(tenant: string, id: string, by: string): Promise<Escalation> {
    return this.#transition(tenant, id, { to: 'acked', from: ['open'], by });
  }

  /** Resolved: closed; raising its key again opens a new item. */
  resolve(tenant: string, id: string, by: string): Promise<Escalation> {
    return this.#transition(tenant, id, { to: 'resolved', from: ['open', 'acked'], by });
  }

  async #transition(
    tenant: string,
    id: string,
    change: { to: 'acked' | 'resolved'; from: readonly EscalationStatus[]; by: string },
  ): Promise<Escalation> {
    const column = change.to === 'acked' ? 'acked' : 'resolved';
    const now = this.clock.now();
    const row = await this.store.transaction(async (tx) => {
      const changed = await tx.get<EscalationRow>(
        `UPDATE orch_escalations SET status = ?, ${column}_by = ?, ${column}_at = ?
         WHERE id = ? AND tenant_id = ? AND status IN (${change.from.map(() => '?').join(', ')}) RETURNING *`,
        [change.to, change.by, now, id, tenant, ...change.from],
      );
      if (changed) await publishChanged(tx, tenant, { id: changed.id, status: change.to }, now);
      return changed;
    });
    if (row) return toEscalation(row);
    const current = await this.get(tenant, id); // E_NOT_FOUND for an unknown id or another tenant's
    throw new StrataError('E_CONFLICT', `escalation ${id} is ${current.status}; it cannot be ${change.to}`, {
      status: current.status,
    });
  }

  async setRoute(tenant: string, route: Route): Promise<Route> {
    const parsed = routeSchema.parse(route);
    if (parsed.channel !== 'none' && parsed.target === undefined)
      throw new StrataError('E_INVALID_INPUT', `a ${parsed.channel} route needs a target`);
    if (parsed.channel === 'mail' && parsed.mailbox === undefined)
      throw new StrataError('E_INVALID_INPUT', 'a mail route needs the mailbox it is sent from');
    await this.store.run(
      `INSERT INTO orch_escalation_routes (tenant_id, channel, target, mailbox, who, stale_after_ms, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET channel = excluded.channel,
       target = excluded.target, mailbox = excluded.mailbox, who = excluded.who,
       stale_after_ms = excluded.stale_after_ms, updated_at = excluded.updated_at`,
      [
        tenant,
        parsed.channel,
        parsed.target ?? null,
        parsed.mailbox ?? null,
        JSON.stringify(parsed.who),
        parsed.staleAfterMs,
        this.clock.now(),
      ],
    );
    return parsed;
  }

  async route(tenant: string): Promise<Route> {
    const row = await this.store.get<{
      channel: Route['channel'];
      target: string | null;
      mailbox: string | null;
      who: string;
      stale_after_ms: number | string;
    }>('SELECT * FROM orch_escalation_routes WHERE tenant_id = ?', [tenant]);
    if (!row) return { channel: 'none', who: [], staleAfterMs: DEFAULT_STALE_AFTER_MS };
    return {
      channel: row.channel,
      ...(row.target === null ? {} : { target: row.target }),
      ...(row.mailbox === null ? {} : { mailbox: row.mailbox }),
      who: JSON.parse(row.who) as string[],
      staleAfterMs: Number(row.stale_after_ms),
    };
  }

  /**
   * Re-escalates open items nobody acked within their tenant's stale threshold: one severity up
   * (a P0 stays P0 and is sent again), notified again. Returns how many were bumped.
   */
  async bumpStale(): Promise<number> {
    const now = this.clock.now();
    const bumped = await this.store.all<{ id: string }>(
      `UPDATE orch_escalations SET severity = CASE WHEN severity > 0 THEN severity - 1 ELSE 0 END,
         bumps = bumps + 1, escalated_at = ?, notify_pending = 1
       WHERE status = 'open' AND escalated_at <= ? - COALESCE(
         (SELECT stale_after_ms FROM orch_escalation_routes r WHERE r.tenant_id = orch_escalations.tenant_id), ?)
       RETURNING id`,
      [now, now, DEFAULT_STALE_AFTER_MS],
    );
    return bumped.length;
  }

  /**
   * Sends pending notifications. Each is claimed by a conditional UPDATE before it is sent, so two
   * sweeping processes never send one twice; a failed send is put back for the next sweep.
   */
  async deliverPending(logger?: Logger): Promise<number> {
    const due = await this.store.all<EscalationRow>(
      'SELECT * FROM orch_escalations WHERE notify_pending = 1 ORDER BY severity, id LIMIT 100',
    );
    let sent = 0;
    for (const row of due) {
      const claimed = await this.store.run(
        'UPDATE orch_escalations SET notify_pending = 0, notified_at = ? WHERE id = ? AND notify_pending = 1',
        [this.clock.now(), row.id],
      );
      if (claimed.changes !== 1) continue;
      const route = await this.route(row.tenant_id);
      if (route.channel === 'none' || !this.#notifier) continue;
      try {
        await this.#notifier(row.tenant_id, toEscalation(row), route);
        sent++;
      } catch (error) {
        logger?.warn({ err: error, escalation: row.id }, 'escalation notification failed; retrying');
        await this.store.run('UPDATE orch_escalations SET notify_pending = 1 WHERE id = ?', [row.id]);
      }
    }
    return sent;
  }
}
