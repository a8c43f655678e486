/**
 * @module provisioning/resources/lifecycle
 * How a resource changes state: under a row lock, checked against the states it may come from,
 * with a timestamped row in `prov_transitions`; after the commit, the interval it spent `ready`
 * and the transition itself are metered, and the transition is audited. Metering and audit
 * failures are logged, never thrown: the state change has already happened.
 */
import {
  StrataError,
  forUpdate,
  type Clock,
  type Logger,
  type Store,
  type Transaction,
} from '../../kernel/index.ts';
import type { MeterEvent, Meters } from '../billing/meter.ts';
import { expectState, type ResourceRow } from './records.ts';
import type { ResourceMeters, ResourceState } from './types.ts';

export const TRANSITIONS_METER = 'resource.transitions';

export type AuditSink = (entry: {
  tenantId: string;
  action: string;
  resource: string;
  detail: unknown;
}) => Promise<void>;

export interface StateChange {
  readonly to: ResourceState;
  readonly from: readonly ResourceState[];
  readonly reason: string;
  readonly set: Partial<
    Record<'handle' | 'env' | 'ready_since' | 'last_used_at' | 'error', string | number | null>
  >;
}

export class Lifecycle {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #meters: Meters | undefined;
  readonly #auditSink: AuditSink | undefined;
  readonly #metersOf: (kind: string) => ResourceMeters;
  readonly #metersDefined = new Set<string>();

  constructor(options: {
    store: Store;
    clock: Clock;
    logger: Logger;
    meters?: Meters;
    audit?: AuditSink;
    metersOf: (kind: string) => ResourceMeters;
  }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#meters = options.meters;
    this.#auditSink = options.audit;
    this.#metersOf = options.metersOf;
  }

  /** Moves a resource between states under a row lock; meters and audits after the commit. */
  async apply(row: ResourceRow, change: StateChange): Promise<ResourceRow> {
    const now = this.#clock.now();
    const { before, after } = await this.#store.transaction(async (tx) => {
      const current = await tx.get<ResourceRow>(`SELECT * FROM prov_resources WHERE id = ?${forUpdate(tx)}`, [
        row.id,
      ]);
      if (!current) throw new StrataError('E_NOT_FOUND', `no resource ${row.id}`, { resource: row.id });
      expectState(current, change.from);
      const columns = Object.keys(change.set);
      await tx.run(
        `UPDATE prov_resources SET state = ?, transitions = transitions + 1, updated_at = ?${columns
          .map((c) => `, ${c} = ?`)
          .join('')} WHERE id = ?`,
        [change.to, now, ...columns.map((c) => change.set[c as keyof typeof change.set] ?? null), row.id],
      );
      const seq = Number(current.transitions) + 1;
      await this.record(tx, {
        id: row.id,
        tenantId: row.tenant_id,
        seq,
        from: current.state,
        to: change.to,
        reason: change.reason,
      });
      const updated = await tx.get<ResourceRow>('SELECT * FROM prov_resources WHERE id = ?', [row.id]);
      return { before: current, after: updated as ResourceRow };
    });
    if (before.state === 'ready' && before.ready_since !== null && change.to !== 'ready')
      await this.meterReady(before, Number(before.ready_since), now);
    await this.meter(after, [
      {
        type: TRANSITIONS_METER,
        id: `${row.id}:t:${after.transitions}`,
        quantity: '1',
        unit: 'transition',
        time: now,
      },
    ]);
    await this.audit(after, `provision.${change.to}`, { from: before.state, reason: change.reason });
    return after;
  }

  async record(
    tx: Transaction,
    t: {
      id: string;
      tenantId: string;
      seq: number;
      from: ResourceState | null;
      to: ResourceState;
      reason?: string;
    },
  ): Promise<void> {
    await tx.run(
      'INSERT INTO prov_transitions (resource_id, seq, tenant_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [t.id, t.seq, t.tenantId, t.from, t.to, t.reason ?? 'requested', this.#clock.now()],
    );
  }

  async meterReady(row: ResourceRow, from: number, to: number): Promise<void> {
    if (to <= from) return;
    const seconds = ((to - from) / 1000).toFixed(3);
    await this.meter(row, [
      {
        type: this.#metersOf(row.kind).readySeconds,
        id: `${row.id}:ready:${from}`,
        quantity: seconds,
        unit: 'second',
        time: to,
      },
    ]);
  }

  /** Meter failures are logged, not thrown: the state change already happened. */
  async meter(
    row: ResourceRow,
    events: readonly Omit<MeterEvent, 'subject' | 'resourceId'>[],
  ): Promise<void> {
    const meters = this.#meters;
    if (!meters) return;
    try {
      await this.#defineMeters(meters, row);
      await meters.ingest(
        row.tenant_id,
        events.map((e) => ({ ...e, subject: row.subject, resourceId: row.id })),
      );
    } catch (error) {
      this.#logger.error({ resourceId: row.id, err: error }, 'metering a resource failed');
    }
  }

  async #defineMeters(meters: Meters, row: ResourceRow): Promise<void> {
    const key = `${row.tenant_id}|${row.kind}`;
    if (this.#metersDefined.has(key)) return;
    const types = this.#metersOf(row.kind);
    await meters.define(row.tenant_id, {
      type: types.readySeconds,
      unit: 'second',
      aggregation: 'sum',
      description: `Seconds ${row.kind} resources spent ready`,
    });
    await meters.define(row.tenant_id, {
      type: types.provisions,
      unit: 'provision',
      aggregation: 'sum',
      description: `${row.kind} resources provisioned`,
    });
    await meters.define(row.tenant_id, {
      type: TRANSITIONS_METER,
      unit: 'transition',
      aggregation: 'count',
      description: 'Resource state transitions',
    });
    this.#metersDefined.add(key);
  }

  async audit(row: ResourceRow, action: string, detail: unknown): Promise<void> {
    await this.#auditSink?.({
      tenantId: row.tenant_id,
      action,
      resource: `resources/${row.kind}/${row.name}`,
      detail,
    }).catch((error: unknown) => this.#logger.error({ err: error }, 'auditing a resource transition failed'));
  }
}
