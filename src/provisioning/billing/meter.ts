/**
 * @module provisioning/billing/meter
 * Meter events and their aggregation, after Stripe meters, OpenMeter and Lago.
 *
 * Glossary
 * - **Meter**: a tenant's named event type with a unit and a default aggregation. `syscall.cost` is
 *   built in: the kernel's meter hook emits one per metered syscall, quantity = cost in the tenant's
 *   currency, resourceId = the syscall's resource.
 * - **Event**: `{id, type, subject, resourceId, quantity, unit, time}`; `id` is the idempotency key
 *   (per tenant): the same id with the same payload is a no-op (`duplicate`), with another payload
 *   `E_CONFLICT`. Quantities are non-negative decimal strings (up to 6 decimals), stored exactly as
 *   integer micro-units. Times more than 35 days back or 5 minutes ahead of the injected clock are
 *   refused (`E_METER_OUT_OF_WINDOW`). A batch is all or nothing.
 * - **Aggregations**: `sum`, `count`, `max`, `latest` (the quantity of the newest event),
 *   `unique_count` (distinct resource ids or subjects) and `time_weighted` (events are levels, e.g.
 *   GB allocated; the result is unit·seconds — GB-seconds — over [from, to), a level holding until
 *   the next event of the same subject and resource, the level before `from` carried in).
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { MeterHook } from '../../kernel/syscalls/hooks.ts';
import type { SqlValue, Store } from '../../kernel/index.ts';
import { formatMicros, formatScaled, parseQuantity, toBig } from './money.ts';
import {
  ATTRIBUTION_COLUMNS,
  attributionOf,
  attributionValues,
  type UsageAttribution,
} from './usage-attribution.ts';

export const AGGREGATIONS = ['sum', 'count', 'max', 'latest', 'unique_count', 'time_weighted'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const PAST_WINDOW_MS = 35 * 86_400_000;
export const FUTURE_WINDOW_MS = 5 * 60_000;

export interface MeterDefinition {
  readonly type: string;
  readonly unit: string;
  readonly aggregation: Aggregation;
  readonly description: string;
}

export interface MeterEvent {
  readonly id: string;
  readonly type: string;
  /** Who is billed: `tenant`, `agent:<id>` or `run:<id>` (any non-empty text). */
  readonly subject: string;
  readonly resourceId: string;
  /** Non-negative decimal string, e.g. `"1.5"`. */
  readonly quantity: string;
  readonly unit: string;
  /** Epoch milliseconds (part of the payload, so a retry sends the same time). */
  readonly time: number;
  /** Cost per task: what the event is for (the kernel hook sets it; not part of the payload). */
  readonly attribution?: UsageAttribution;
}

export interface IngestResult {
  readonly accepted: number;
  readonly duplicates: number;
}

export interface AggregateQuery {
  readonly type: string;
  readonly from: number;
  readonly to: number;
  readonly aggregation?: Aggregation;
  readonly subject?: string;
  readonly resourceId?: string;
  /** For `unique_count`. @default 'resourceId' */
  readonly uniqueBy?: 'resourceId' | 'subject';
}

export interface AggregateResult {
  readonly type: string;
  readonly aggregation: Aggregation;
  readonly unit: string;
  /** Exact decimal string (a count for `count`/`unique_count`, unit·seconds for `time_weighted`). */
  readonly value: string;
  readonly events: number;
}

const BUILTIN: Readonly<Record<string, MeterDefinition>> = {
  'syscall.cost': {
    type: 'syscall.cost',
    unit: '*',
    aggregation: 'sum',
    description: 'Cost of each metered syscall, in the tenant currency (emitted by the kernel meter hook).',
  },
};

const TYPE = /^[a-z][a-z0-9_.-]{0,99}$/;
const TEXT_MAX = 200;

type EventRow = {
  id: string;
  type: string;
  subject: string;
  resource_id: string;
  quantity: string;
  qty_micros: number;
  unit: string;
  time: number;
  payload_hash: string;
  attribution?: UsageAttribution;
};

const bad = (message: string, path: string): StrataError =>
  new StrataError('E_INVALID_INPUT', message, { issues: [{ path, message }] });

export class Meters {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: { store: Store; clock: Clock }) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  async define(tenantId: string, meter: MeterDefinition): Promise<MeterDefinition> {
    if (!TYPE.test(meter.type)) throw bad('a meter type is lowercase [a-z0-9_.-], 1–100 characters', 'type');
    if (Object.hasOwn(BUILTIN, meter.type)) throw bad(`${meter.type} is built in`, 'type');
    if (!meter.unit || meter.unit.length > 50) throw bad('a unit is 1–50 characters', 'unit');
    if (!AGGREGATIONS.includes(meter.aggregation)) throw bad('unknown aggregation', 'aggregation');
    const existing = await this.get(tenantId, meter.type).catch(() => undefined);
    if (existing && existing.unit !== meter.unit)
      throw new StrataError('E_CONFLICT', `meter ${meter.type} exists with unit ${existing.unit}`, {
        type: meter.type,
      });
    await this.#store.run(
      `INSERT INTO bill_meters (tenant_id, type, unit, aggregation, description, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, type) DO UPDATE SET aggregation = excluded.aggregation, description = excluded.description`,
      [tenantId, meter.type, meter.unit, meter.aggregation, meter.description, this.#clock.now()],
    );
    const stored = await this.get(tenantId, meter.type);
    return stored;
  }

  async get(tenantId: string, type: string): Promise<MeterDefinition> {
    const builtin = BUILTIN[type];
    if (builtin && Object.hasOwn(BUILTIN, type)) return builtin;
    const row = await this.#store.get<{
      type: string;
      unit: string;
      aggregation: string;
      description: string;
    }>('SELECT type, unit, aggregation, description FROM bill_meters WHERE tenant_id = ? AND type = ?', [
      tenantId,
      type,
    ]);
    if (!row)
      throw new StrataError('E_UNKNOWN_METER', `no meter ${JSON.stringify(type)}: define it first`, { type });
    return { ...row, aggregation: row.aggregation as Aggregation };
  }

  async list(tenantId: string): Promise<MeterDefinition[]> {
    const rows = await this.#store.all<{
      type: string;
      unit: string;
      aggregation: string;
      description: string;
    }>('SELECT type, unit, aggregation, description FROM bill_meters WHERE tenant_id = ? ORDER BY type', [
      tenantId,
    ]);
    return [
      ...Object.values(BUILTIN),
      ...rows.map((r) => ({ ...r, aggregation: r.aggregation as Aggregation })),
    ];
  }

  /** Validates every event, then stores them in one transaction (all or nothing). */
  async ingest(tenantId: string, events: readonly MeterEvent[]): Promise<IngestResult> {
    const now = this.#clock.now();
    const meters = new Map<string, MeterDefinition>();
    const rows: EventRow[] = [];
    const seen = new Map<string, string>();
    for (const [i, event] of events.entries()) {
      const row = await this.#validate(tenantId, event, { now, meters, index: i });
      const earlier = seen.get(row.id);
      if (earlier !== undefined && earlier !== row.payload_hash)
        throw new StrataError('E_CONFLICT', `meter event ${row.id} appears twice with different payloads`, {
          eventId: row.id,
        });
      if (earlier === undefined) rows.push(row);
      seen.set(row.id, row.payload_hash);
    }
    return this.#store.transaction(async (tx) => {
      let accepted = 0;
      let duplicates = events.length - rows.length;
      for (const row of rows) {
        const { changes } = await tx.run(
          `INSERT INTO bill_meter_events (tenant_id, id, type, subject, resource_id, quantity, qty_micros, unit, time, payload_hash, received_at,
             ${ATTRIBUTION_COLUMNS})
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING`,
          [
            tenantId,
            row.id,
            row.type,
            row.subject,
            row.resource_id,
            row.quantity,
            row.qty_micros,
            row.unit,
            row.time,
            row.payload_hash,
            now,
            ...attributionValues(row.attribution),
          ],
        );
        if (changes === 1) {
          accepted++;
          continue;
        }
        const existing = await tx.get<{ payload_hash: string }>(
          'SELECT payload_hash FROM bill_meter_events WHERE tenant_id = ? AND id = ?',
          [tenantId, row.id],
        );
        if (existing?.payload_hash !== row.payload_hash)
          throw new StrataError('E_CONFLICT', `meter event ${row.id} was already sent with another payload`, {
            eventId: row.id,
          });
        duplicates++;
      }
      return { accepted, duplicates };
    });
  }

  async aggregate(tenantId: string, query: AggregateQuery): Promise<AggregateResult> {
    const meter = await this.get(tenantId, query.type);
    const aggregation = query.aggregation ?? meter.aggregation;
    if (!(Number.isSafeInteger(query.from) && Number.isSafeInteger(query.to) && query.from <= query.to))
      throw bad('from and to are epoch milliseconds with from <= to', 'from');
    const where = ['tenant_id = ?', 'type = ?'];
    const params: SqlValue[] = [tenantId, query.type];
    if (query.subject !== undefined) {
      where.push('subject = ?');
      params.push(query.subject);
    }
    if (query.resourceId !== undefined) {
      where.push('resource_id = ?');
      params.push(query.resourceId);
    }
    const base = where.join(' AND ');
    const unit = meter.unit === '*' ? await this.#unitOf(tenantId, query.type) : meter.unit;
    const result = (value: string, events: number): AggregateResult => ({
      type: query.type,
      aggregation,
      unit: aggregation === 'time_weighted' ? `${unit}·s` : aggregation.endsWith('count') ? 'count' : unit,
      value,
      events,
    });
    if (aggregation === 'time_weighted') return this.#timeWeighted(base, params, query, result);
    const inWindow = `${base} AND time >= ? AND time < ?`;
    const windowParams = [...params, query.from, query.to];
    if (aggregation === 'latest') {
      const row = await this.#store.get<{ qty_micros: number }>(
        `SELECT qty_micros FROM bill_meter_events WHERE ${inWindow} ORDER BY time DESC, id DESC LIMIT 1`,
        windowParams,
      );
      const n = await this.#count(inWindow, windowParams);
      return result(row ? formatScaled(toBig(row.qty_micros), 6) : '0', n);
    }
    const expression = {
      sum: 'CAST(COALESCE(SUM(qty_micros), 0) AS TEXT)',
      max: 'CAST(COALESCE(MAX(qty_micros), 0) AS TEXT)',
      count: 'COUNT(*)',
      unique_count: `COUNT(DISTINCT ${query.uniqueBy === 'subject' ? 'subject' : 'resource_id'})`,
    }[aggregation];
    const row = await this.#store.get<{ v: string | number; n: number }>(
      `SELECT ${expression} AS v, COUNT(*) AS n FROM bill_meter_events WHERE ${inWindow}`,
      windowParams,
    );
    const raw = toBig(row?.v ?? 0);
    const value = aggregation === 'sum' || aggregation === 'max' ? formatScaled(raw, 6) : raw.toString();
    return result(value, Number(row?.n ?? 0));
  }

  /** The kernel meter hook: one `syscall.cost` event per metered syscall. Failures are logged, never
   *  thrown (the call already happened). */
  hook(options: { currency: string; logger: Logger }): MeterHook {
    return {
      record: async (record) => {
        if (record.syscall.startsWith('billing.')) return; // free, and would meter their own reads
        try {
          const time = this.#clock.now();
          await this.ingest(record.tenantId, [
            {
              id: newId('mev', time),
              type: 'syscall.cost',
              subject: record.runId ? `run:${record.runId}` : `agent:${record.principalId}`,
              resourceId: `${record.syscall}:${record.resource}`.slice(0, TEXT_MAX),
              quantity: formatMicros(BigInt(Math.max(0, Math.round(record.costMicros))), options.currency),
              unit: options.currency,
              time,
              attribution: attributionOf(record),
            },
          ]);
        } catch (error) {
          options.logger.error({ err: error, syscall: record.syscall }, 'meter event not recorded');
        }
      },
    };
  }

  async #count(where: string, params: SqlValue[]): Promise<number> {
    const row = await this.#store.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM bill_meter_events WHERE ${where}`,
      params,
    );
    return Number(row?.n ?? 0);
  }

  async #unitOf(tenantId: string, type: string): Promise<string> {
    const row = await this.#store.get<{ unit: string }>(
      'SELECT unit FROM bill_meter_events WHERE tenant_id = ? AND type = ? LIMIT 1',
      [tenantId, type],
    );
    return row?.unit ?? '';
  }

  async #timeWeighted(
    base: string,
    params: SqlValue[],
    query: AggregateQuery,
    result: (value: string, events: number) => AggregateResult,
  ): Promise<AggregateResult> {
    // The last level before `from` of each series, then every change inside the window.
    const rows = await this.#store.all<EventRow>(
      `SELECT * FROM bill_meter_events WHERE ${base} AND time < ? ORDER BY subject, resource_id, time, id`,
      [...params, query.to],
    );
    let total = 0n; // micro-units × milliseconds = 10⁻⁹ unit·seconds
    let inWindow = 0;
    let series = '';
    let level = 0n;
    let since = query.from;
    const close = (until: number): void => {
      if (until > since) total += level * BigInt(until - since);
    };
    for (const row of rows) {
      const key = `${row.subject}\u0000${row.resource_id}`;
      const at = Number(row.time);
      if (key !== series) {
        if (series) close(query.to);
        series = key;
        level = 0n;
        since = query.from;
      }
      if (at >= query.from) {
        close(at);
        since = at;
        inWindow++;
      }
      level = toBig(row.qty_micros);
    }
    if (series) close(query.to);
    return result(formatScaled(total, 9), inWindow);
  }

  async #validate(
    tenantId: string,
    event: MeterEvent,
    at: { now: number; meters: Map<string, MeterDefinition>; index: number },
  ): Promise<EventRow> {
    const path = (field: string): string => `events.${at.index}.${field}`;
    if (typeof event !== 'object' || event === null) throw bad('an event is an object', path(''));
    const text = (value: unknown, field: string): string => {
      if (typeof value !== 'string' || value.length === 0 || value.length > TEXT_MAX)
        throw bad(`${field} is required (1–${TEXT_MAX} characters)`, path(field));
      return value;
    };
    const id = text(event.id, 'id');
    const type = text(event.type, 'type');
    const subject = text(event.subject, 'subject');
    const resourceId = text(event.resourceId, 'resourceId');
    const unit = text(event.unit, 'unit');
    let meter = at.meters.get(type);
    if (!meter) {
      meter = await this.get(tenantId, type);
      at.meters.set(type, meter);
    }
    if (meter.unit !== '*' && meter.unit !== unit)
      throw bad(`meter ${type} counts ${meter.unit}, not ${unit}`, path('unit'));
    const qtyMicros = parseQuantity(event.quantity);
    const time = event.time;
    if (typeof time !== 'number' || !Number.isSafeInteger(time))
      throw bad('time is required, in epoch milliseconds', path('time'));
    if (time < at.now - PAST_WINDOW_MS || time > at.now + FUTURE_WINDOW_MS)
      throw new StrataError(
        'E_METER_OUT_OF_WINDOW',
        'meter event time is outside 35 days back / 5 minutes ahead',
        {
          eventId: id,
          time: new Date(time).toISOString(),
          now: new Date(at.now).toISOString(),
        },
      );
    const quantity = formatScaled(qtyMicros, 6);
    const hash = createHash('sha256')
      .update(JSON.stringify([type, subject, resourceId, quantity, unit, time]))
      .digest('base64url');
    return {
      id,
      type,
      subject,
      resource_id: resourceId,
      quantity,
      qty_micros: Number(qtyMicros),
      unit,
      time,
      payload_hash: hash,
      ...(event.attribution ? { attribution: event.attribution } : {}),
    };
  }
}
