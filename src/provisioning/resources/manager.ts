/**
 * @module provisioning/resources/manager
 * The provisioner: resources on demand behind one state machine,
 * `pending → ready ⇄ suspended → destroying → destroyed` (and `failed`). Every transition is a
 * row in `prov_transitions` (timestamped), an audit entry and a meter event; time spent `ready`
 * is metered as `<kind>.ready_seconds`, each successful provision as one `<kind>.provisions`.
 *
 * Crash safety: the row is written `pending` before the driver acts, so a crash mid-provision
 * leaves a row the sweeper finds and reaps (drivers make `create` and `destroy` repeatable by
 * id). Usage is metered after the state change commits: a crash in between loses that interval
 * (under-billing), never bills twice — event ids are derived from the interval's start.
 *
 * Idempotency: a provision carries a key (unique per tenant, forever). The same key with the same
 * request returns the same resource — concurrent repeats wait for the first to finish — and is
 * charged once; the same key with another request is `E_CONFLICT`.
 */
import { StrataError, newId, silentLogger, systemClock, takeChaosFault } from '../../kernel/index.ts';
import type { Clock, Logger, Store } from '../../kernel/index.ts';
import type { Meters } from '../billing/meter.ts';
import { Lifecycle, type AuditSink } from './lifecycle.ts';
import { RESOURCES_LAYER, resourceMigrations } from './migrations.ts';
import {
  checkName,
  expectState,
  json,
  requestHash,
  toRef,
  toResource,
  type Resource,
  type ResourceRow,
  type Transition,
} from './records.ts';
import type { ResourceDriver, ResourceState } from './types.ts';

/** Where a resource's secrets live (the tools layer's vault in the runtime). */
export interface ResourceSecretStore {
  put(tenantId: string, resourceId: string, secrets: Readonly<Record<string, string>>): Promise<void>;
  get(tenantId: string, resourceId: string): Promise<Record<string, string>>;
  remove(tenantId: string, resourceId: string): Promise<void>;
}

/** A provision admitted by billing (a price exists, a budget hold is taken); settled after. */
export interface ProvisionAdmission {
  commit(): Promise<void>;
  release(reason: string): Promise<void>;
}

export interface AdmissionRequest {
  readonly tenantId: string;
  readonly principalId: string;
  readonly kind: string;
  readonly subject: string;
  readonly resourceId: string;
  /** Pays with this spend token (its secret) instead of holding budget. */
  readonly spendToken?: string;
}

export interface ResourceManagerOptions {
  readonly store: Store;
  readonly drivers: readonly ResourceDriver[];
  readonly secrets: ResourceSecretStore;
  /** Usage and transitions are metered here when given. */
  readonly meters?: Meters;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Refuses a provision (no price: `E_NO_PRICE`, budget spent: `E_BUDGET_EXCEEDED`) before anything is made. */
  readonly admit?: (request: AdmissionRequest) => Promise<ProvisionAdmission | undefined>;
  /** Records a transition in the tenant's audit log. */
  readonly audit?: AuditSink;
  /** Idle time before a ready resource is suspended. @default 300000 (5 minutes) */
  readonly defaultIdleMs?: number;
  /** A `pending` row older than this with no provision in progress here is half-made. @default 120000 */
  readonly pendingTimeoutMs?: number;
}

export interface ProvisionInput {
  readonly kind: string;
  readonly name: string;
  readonly config?: unknown;
  readonly labels?: Readonly<Record<string, string>>;
  /** Same key, same request → same resource, charged once. @default a fresh key (no dedupe) */
  readonly idempotencyKey?: string;
  readonly idleMs?: number;
  /** Destroyed this long after creation. @default never */
  readonly ttlMs?: number;
  /** @default 'tenant' */
  readonly subject?: string;
  readonly principalId?: string;
  /** A spend token secret (`spt_…`) that pays for the provision; never stored. */
  readonly spendToken?: string;
}

export interface CatalogEntry {
  readonly kind: string;
  readonly description: string;
  readonly meters: { readonly readySeconds: string; readonly provisions: string };
}

const WAIT_POLL_MS = 50;

/** What `#claim` inserts as the `pending` row. */
interface Claim {
  tenantId: string;
  id: string;
  key: string;
  hash: string;
  input: ProvisionInput;
  request: {
    name: string;
    config: unknown;
    labels: Readonly<Record<string, string>>;
    subject: string;
    idleMs: number;
  };
}

export class ResourceManager {
  readonly #store: Store;
  readonly #drivers: Map<string, ResourceDriver>;
  readonly #secrets: ResourceSecretStore;
  readonly #lifecycle: Lifecycle;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: ResourceManagerOptions;
  /** Provisions and teardowns in progress in this process, by resource id. */
  readonly #inFlight = new Map<string, Promise<unknown>>();

  private constructor(options: ResourceManagerOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#drivers = new Map(options.drivers.map((d) => [d.kind, d]));
    this.#secrets = options.secrets;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger();
    this.#lifecycle = new Lifecycle({
      store: options.store,
      clock: this.#clock,
      logger: this.#logger,
      meters: options.meters,
      audit: options.audit,
      metersOf: (kind) => this.driver(kind).meters,
    });
  }

  static async open(options: ResourceManagerOptions): Promise<ResourceManager> {
    await options.store.migrate(RESOURCES_LAYER, resourceMigrations);
    return new ResourceManager(options);
  }

  get clock(): Clock {
    return this.#clock;
  }

  catalog(): CatalogEntry[] {
    return [...this.#drivers.values()].map((d) => ({
      kind: d.kind,
      description: d.description,
      meters: { readySeconds: d.meters.readySeconds, provisions: d.meters.provisions },
    }));
  }

  driver(kind: string): ResourceDriver {
    const driver = this.#drivers.get(kind);
    if (!driver)
      throw new StrataError('E_UNKNOWN_RESOURCE_KIND', `no resource kind "${kind}"`, {
        kind,
        known: [...this.#drivers.keys()],
      });
    return driver;
  }

  async provision(tenantId: string, input: ProvisionInput): Promise<Resource> {
    const driver = this.driver(input.kind);
    const name = checkName(input.name);
    const parsed = driver.configSchema.safeParse(input.config ?? {});
    if (!parsed.success)
      throw new StrataError('E_INVALID_INPUT', `invalid config for ${input.kind}`, {
        issues: parsed.error.issues.map((i) => ({
          path: ['config', ...i.path].join('.'),
          message: i.message,
        })),
      });
    const subject = input.subject ?? 'tenant';
    const idleMs = input.idleMs ?? this.#options.defaultIdleMs ?? 300_000;
    const request = {
      kind: input.kind,
      name,
      config: parsed.data,
      labels: input.labels ?? {},
      subject,
      idleMs,
    };
    const hash = requestHash({ ...request, ttlMs: input.ttlMs ?? null });
    const key = input.idempotencyKey ?? newId('key', this.#clock.now());
    // The key is claimed (a `pending` row) before billing is asked, so repeats of one key wait for
    // the first call and share its outcome instead of each holding budget of their own.
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.#byKey(tenantId, key);
      if (existing) {
        const settled = await this.#replay(existing, hash);
        if (settled) return settled;
        continue; // the first call was refused and removed its row: try for ourselves
      }
      const id = newId('res', this.#clock.now());
      if (!(await this.#claimOrYield({ tenantId, id, key, hash, input, request }))) continue;
      const work = this.#admitAndCreate(tenantId, id, driver, input);
      this.#inFlight.set(id, work);
      try {
        return await work;
      } finally {
        this.#inFlight.delete(id);
      }
    }
    throw new StrataError('E_UNAVAILABLE', 'the idempotency key is contended; retry', {
      idempotencyKey: key,
    });
  }

  /**
   * `#claim`, also yielding when the name index refused the row because a concurrent call with the
   * same key inserted first: on PostgreSQL `ON CONFLICT` settles only its arbiter (the key), so a
   * race on the name surfaces as a unique violation on `prov_resources_live_name` instead.
   */
  async #claimOrYield(c: Claim): Promise<boolean> {
    try {
      return await this.#claim(c);
    } catch (err) {
      if (err instanceof StrataError && err.code === 'E_CONFLICT' && (await this.#byKey(c.tenantId, c.key)))
        return false;
      throw err;
    }
  }

  /** Inserts the `pending` row; false when another call holds the key. */
  async #claim(c: Claim): Promise<boolean> {
    const now = this.#clock.now();
    return this.#store.transaction(async (tx) => {
      const { changes } = await tx.run(
        `INSERT INTO prov_resources (id, tenant_id, kind, name, state, config, labels, handle, env, subject,
           idempotency_key, request_hash, idle_ms, expires_at, last_used_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, '{}', '{}', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
        [
          c.id,
          c.tenantId,
          c.input.kind,
          c.request.name,
          json(c.request.config),
          json(c.request.labels),
          c.request.subject,
          c.key,
          c.hash,
          c.request.idleMs,
          c.input.ttlMs === undefined ? null : now + c.input.ttlMs,
          now,
          now,
          now,
        ],
      );
      if (changes === 1)
        await this.#lifecycle.record(tx, {
          id: c.id,
          tenantId: c.tenantId,
          seq: 0,
          from: null,
          to: 'pending',
        });
      return changes === 1;
    });
  }

  /** Asks billing, then makes the resource. A refusal removes the claim: nothing was made. */
  async #admitAndCreate(
    tenantId: string,
    id: string,
    driver: ResourceDriver,
    input: Pick<ProvisionInput, 'principalId' | 'spendToken'>,
  ): Promise<Resource> {
    const row = await this.#row(tenantId, id);
    let admission: ProvisionAdmission | undefined;
    try {
      admission = await this.#options.admit?.({
        tenantId,
        principalId: input.principalId ?? '',
        kind: row.kind,
        subject: row.subject,
        resourceId: id,
        spendToken: input.spendToken,
      });
    } catch (error) {
      await this.#store.transaction(async (tx) => {
        await tx.run('DELETE FROM prov_transitions WHERE resource_id = ?', [id]);
        await tx.run("DELETE FROM prov_resources WHERE id = ? AND state = 'pending'", [id]);
      });
      throw error;
    }
    return this.#create(tenantId, id, driver, admission);
  }

  async #create(
    tenantId: string,
    id: string,
    driver: ResourceDriver,
    admission: ProvisionAdmission | undefined,
  ): Promise<Resource> {
    const row = await this.#row(tenantId, id);
    await this.#lifecycle.audit(row, 'provision.pending', { kind: row.kind, name: row.name });
    try {
      const made = await driver.create(toRef(row));
      // Chaos (`provision_failed`): fail after the driver made it, so cleanup of half-made work runs.
      if (takeChaosFault('provisioning', 'provision_failed'))
        throw new StrataError('E_UNAVAILABLE', `provisioning ${row.kind} failed (injected fault)`, {
          injected: true,
        });
      await this.#secrets.put(tenantId, id, made.secrets);
      const now = this.#clock.now();
      const ready = await this.#lifecycle.apply(row, {
        to: 'ready',
        from: ['pending'],
        reason: 'provisioned',
        set: { handle: json(made.handle), env: json(made.env), ready_since: now, last_used_at: now },
      });
      await this.#lifecycle.meter(ready, [
        {
          type: driver.meters.provisions,
          id: `${id}:provisioned`,
          quantity: '1',
          unit: 'provision',
          time: now,
        },
      ]);
      await admission?.commit();
      return toResource(ready);
    } catch (error) {
      await admission?.release('provision failed');
      await this.#fail(row, driver, error);
      throw error;
    }
  }

  /** Marks a resource failed and removes whatever its driver made; billing of it stops here. */
  async #fail(row: ResourceRow, driver: ResourceDriver, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.#logger.warn({ resourceId: row.id, kind: row.kind, err: message }, 'provision failed');
    await driver
      .destroy(toRef(row))
      .catch((cleanup: unknown) =>
        this.#logger.error({ resourceId: row.id, err: cleanup }, 'cleanup after a failed provision failed'),
      );
    await this.#secrets.remove(row.tenant_id, row.id).catch(() => undefined);
    await this.#lifecycle
      .apply(row, {
        to: 'failed',
        from: ['pending', 'ready', 'suspended', 'destroying'],
        reason: `failed: ${message.slice(0, 200)}`,
        set: { error: message.slice(0, 500), ready_since: null },
      })
      .catch(() => undefined);
  }

  /** The outcome of an earlier call with the key; undefined if that call was refused (row gone). */
  async #replay(row: ResourceRow, hash: string): Promise<Resource | undefined> {
    if (row.request_hash !== hash)
      throw new StrataError('E_CONFLICT', 'this idempotency key was used for a different request', {
        resourceId: row.id,
      });
    const settled = await this.#settled(row);
    return settled && toResource(settled);
  }

  /** Waits until a pending resource is ready or failed (made here or by another process). */
  async #settled(row: ResourceRow): Promise<ResourceRow | undefined> {
    let current: ResourceRow | undefined = row;
    const deadline = Date.now() + (this.#options.pendingTimeoutMs ?? 120_000);
    while (current?.state === 'pending') {
      const local = this.#inFlight.get(current.id);
      if (local) await local.catch(() => undefined);
      else if (Date.now() > deadline)
        throw new StrataError('E_UNAVAILABLE', 'the resource is still being provisioned', {
          resourceId: current.id,
        });
      else await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      current = await this.#store.get<ResourceRow>('SELECT * FROM prov_resources WHERE id = ?', [current.id]);
    }
    return current;
  }

  async get(tenantId: string, idOrName: string): Promise<Resource> {
    return toResource(await this.#find(tenantId, idOrName));
  }

  async list(
    tenantId: string,
    filter: { state?: ResourceState; kind?: string; labels?: Readonly<Record<string, string>> } = {},
  ): Promise<Resource[]> {
    const where = ['tenant_id = ?'];
    const params: string[] = [tenantId];
    if (filter.state) {
      where.push('state = ?');
      params.push(filter.state);
    }
    if (filter.kind) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    const rows = await this.#store.all<ResourceRow>(
      `SELECT * FROM prov_resources WHERE ${where.join(' AND ')} ORDER BY id`,
      params,
    );
    const labels = Object.entries(filter.labels ?? {});
    return rows.map(toResource).filter((r) => labels.every(([k, v]) => r.labels[k] === v));
  }

  async history(tenantId: string, idOrName: string): Promise<Transition[]> {
    const row = await this.#find(tenantId, idOrName);
    const rows = await this.#store.all<{
      seq: number;
      from_state: ResourceState | null;
      to_state: ResourceState;
      reason: string;
      at: number | string;
    }>('SELECT * FROM prov_transitions WHERE resource_id = ? ORDER BY seq', [row.id]);
    return rows.map((r) => ({
      seq: Number(r.seq),
      from: r.from_state,
      to: r.to_state,
      reason: r.reason,
      at: Number(r.at),
    }));
  }

  async suspend(tenantId: string, idOrName: string, reason = 'suspended by request'): Promise<Resource> {
    const row = await this.#find(tenantId, idOrName);
    if (row.state === 'suspended') return toResource(row);
    expectState(row, ['ready']);
    await this.driver(row.kind).suspend(toRef(row));
    const next = await this.#lifecycle.apply(row, {
      to: 'suspended',
      from: ['ready'],
      reason,
      set: { ready_since: null },
    });
    return toResource(next);
  }

  async resume(tenantId: string, idOrName: string, reason = 'resumed by request'): Promise<Resource> {
    const row = await this.#find(tenantId, idOrName);
    if (row.state === 'ready') return toResource(await this.#touch(row));
    expectState(row, ['suspended']);
    const renewed = await this.driver(row.kind).resume(toRef(row));
    const now = this.#clock.now();
    const next = await this.#lifecycle.apply(row, {
      to: 'ready',
      from: ['suspended'],
      reason,
      set: {
        ready_since: now,
        last_used_at: now,
        ...(renewed ? { handle: json(renewed.handle), env: json(renewed.env) } : {}),
      },
    });
    return toResource(next);
  }

  /**
   * Starts teardown and returns the resource `destroying` (or `destroyed` with `wait`). Billing stops
   * at this call; the driver's teardown (a DROP DATABASE can take seconds) finishes in the background
   * and is retried by the sweeper if this process dies first.
   */
  async destroy(tenantId: string, idOrName: string, options: { wait?: boolean } = {}): Promise<Resource> {
    const row = await this.#find(tenantId, idOrName);
    expectState(row, ['ready', 'suspended', 'failed']);
    const next = await this.#lifecycle.apply(row, {
      to: 'destroying',
      from: ['ready', 'suspended', 'failed'],
      reason: 'destroy requested',
      set: { ready_since: null },
    });
    const teardown = this.#teardown(next);
    this.#inFlight.set(row.id, teardown);
    const done = teardown.finally(() => this.#inFlight.delete(row.id));
    if (options.wait) return toResource(await done);
    done.catch(() => undefined);
    return toResource(next);
  }

  async #teardown(row: ResourceRow): Promise<ResourceRow> {
    await this.driver(row.kind).destroy(toRef(row));
    await this.#secrets.remove(row.tenant_id, row.id).catch(() => undefined);
    return this.#lifecycle.apply(row, {
      to: 'destroyed',
      from: ['destroying'],
      reason: 'torn down',
      set: {},
    });
  }

  /** New credentials for a live resource; the old ones stop working. Returns the new secrets. */
  async rotateCredentials(tenantId: string, idOrName: string): Promise<Record<string, string>> {
    const row = await this.#find(tenantId, idOrName);
    expectState(row, ['ready', 'suspended']);
    const rotated = await this.driver(row.kind).rotateCredentials(toRef(row));
    const merged = { ...(await this.#secrets.get(tenantId, row.id)), ...rotated };
    await this.#secrets.put(tenantId, row.id, merged);
    await this.#lifecycle.audit(row, 'provision.rotate', { keys: Object.keys(rotated) });
    return merged;
  }

  /**
   * Connection details of one resource for use: resumes it if suspended, marks it used (resetting
   * the idle timer), and returns its env with secrets.
   */
  async use(
    tenantId: string,
    idOrName: string,
  ): Promise<{ resource: Resource; env: Record<string, string> }> {
    const resumed = await this.resume(tenantId, idOrName, 'resumed on use');
    const secrets = await this.#secrets.get(tenantId, resumed.id);
    return { resource: resumed, env: { ...resumed.env, ...secrets } };
  }

  /**
   * The env of a tenant's live resources, keyed `<NAME>_<KEY>` (name upper-cased, `-` → `_`).
   * Secret values are `[REDACTED]` unless `reveal`.
   */
  async env(tenantId: string, options: { reveal?: boolean } = {}): Promise<Record<string, string>> {
    const live = (await this.list(tenantId)).filter((r) => r.state === 'ready' || r.state === 'suspended');
    const out: Record<string, string> = {};
    for (const resource of live) {
      const prefix = resource.name.toUpperCase().replaceAll('-', '_');
      const secrets = await this.#secrets.get(tenantId, resource.id);
      for (const [k, v] of Object.entries(resource.env)) out[`${prefix}_${k}`] = v;
      for (const [k, v] of Object.entries(secrets)) out[`${prefix}_${k}`] = options.reveal ? v : '[REDACTED]';
    }
    return out;
  }

  /** Waits for provisions and teardowns this process started. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight.values()]);
  }

  async close(): Promise<void> {
    await this.idle();
    for (const driver of this.#drivers.values()) await driver.close();
  }

  // --- used by the sweeper -------------------------------------------------------------------

  /** Rows in a state, for the sweeper. */
  rowsIn(states: readonly ResourceState[]): Promise<ResourceRow[]> {
    return this.#store.all<ResourceRow>(
      `SELECT * FROM prov_resources WHERE state IN (${states.map(() => '?').join(', ')}) ORDER BY id`,
      states,
    );
  }

  inFlight(id: string): boolean {
    return this.#inFlight.has(id);
  }

  /** Marks a half-made resource failed and removes its driver object. */
  reapPending(row: ResourceRow): Promise<void> {
    return this.#fail(row, this.driver(row.kind), new Error('abandoned while pending (process died)'));
  }

  /** Retries the teardown of a resource left `destroying`. */
  async finishTeardown(row: ResourceRow): Promise<void> {
    const work = this.#teardown(row);
    this.#inFlight.set(row.id, work);
    await work.finally(() => this.#inFlight.delete(row.id));
  }

  /** Meters the `ready` time up to now of a resource still ready, and starts a new interval. */
  async flushUsage(row: ResourceRow): Promise<void> {
    if (row.state !== 'ready' || row.ready_since === null) return;
    const now = this.#clock.now();
    const { changes } = await this.#store.run(
      "UPDATE prov_resources SET ready_since = ? WHERE id = ? AND state = 'ready' AND ready_since = ?",
      [now, row.id, row.ready_since],
    );
    if (changes === 1) await this.#lifecycle.meterReady(row, Number(row.ready_since), now);
  }

  // --- internals -----------------------------------------------------------------------------

  async #touch(row: ResourceRow): Promise<ResourceRow> {
    await this.#store.run('UPDATE prov_resources SET last_used_at = ? WHERE id = ?', [
      this.#clock.now(),
      row.id,
    ]);
    return this.#row(row.tenant_id, row.id);
  }

  async #byKey(tenantId: string, key: string): Promise<ResourceRow | undefined> {
    return this.#store.get<ResourceRow>(
      'SELECT * FROM prov_resources WHERE tenant_id = ? AND idempotency_key = ?',
      [tenantId, key],
    );
  }

  async #row(tenantId: string, id: string): Promise<ResourceRow> {
    const row = await this.#store.get<ResourceRow>(
      'SELECT * FROM prov_resources WHERE tenant_id = ? AND id = ?',
      [tenantId, id],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no resource ${id}`, { resource: id });
    return row;
  }

  /** By id, or by name among live resources (else the newest of that name). */
  async #find(tenantId: string, idOrName: string): Promise<ResourceRow> {
    const row = await this.#store.get<ResourceRow>(
      `SELECT * FROM prov_resources WHERE tenant_id = ? AND (id = ? OR name = ?)
       ORDER BY CASE WHEN id = ? THEN 0 WHEN state NOT IN ('destroyed', 'failed') THEN 1 ELSE 2 END, id DESC LIMIT 1`,
      [tenantId, idOrName, idOrName, idOrName],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no resource ${idOrName}`, { resource: idOrName });
    return row;
  }
}
