/**
 * @module provisioning/resources/types
 * The contract of a resource driver, the thing that makes a real database, file or sandbox exist.
 * The provisioner (`ResourceManager`) owns everything around it — the state machine, idempotency,
 * metering, credentials in the vault, idle suspension, the reaper — so a driver only acts on the
 * world, and every action is keyed by the resource id so it can be repeated after a crash.
 *
 * Glossary
 * - **Handle**: what a driver needs to find its object again (database and role names, a file
 *   path). Kept in the store, never secret.
 * - **Env**: what a user needs to connect. `env` values are shown; `secrets` (passwords, full
 *   connection strings with them) go to the vault and are redacted unless asked for.
 * - **Half-made**: an object a driver created for a resource the store does not hold as live
 *   (a crash between `create` and the store's `ready`). `listOwned` lets the reaper find them.
 */
import type { z } from 'zod';

/** `pending → ready ⇄ suspended → destroying → destroyed`; `failed` from pending or on an error. */
export type ResourceState = 'pending' | 'ready' | 'suspended' | 'destroying' | 'destroyed' | 'failed';

export const RESOURCE_STATES: readonly ResourceState[] = [
  'pending',
  'ready',
  'suspended',
  'destroying',
  'destroyed',
  'failed',
];

/** A driver's view of one resource: enough to act on it again. */
export interface ResourceRef {
  readonly id: string;
  readonly tenantId: string;
  /** User-chosen, validated by the manager: `^[a-z][a-z0-9_-]{0,62}$`. */
  readonly name: string;
  /** The driver's config, already parsed by its `configSchema`. */
  readonly config: unknown;
  /** What `create` returned as `handle` (empty before `create` succeeded). */
  readonly handle: Readonly<Record<string, string>>;
}

export interface Provisioned {
  readonly handle: Readonly<Record<string, string>>;
  /** Non-secret connection details, e.g. `{ PGHOST, PGPORT, PGDATABASE, PGUSER }`. */
  readonly env: Readonly<Record<string, string>>;
  /** Secret connection details, e.g. `{ PGPASSWORD, DATABASE_URL }`: stored in the vault only. */
  readonly secrets: Readonly<Record<string, string>>;
}

/** Meters a driver's resources emit; the manager records them on every transition. */
export interface ResourceMeters {
  /** Seconds spent `ready` (e.g. `postgres.ready_seconds`): time-weighted usage. */
  readonly readySeconds: string;
  /** One per successful provision (e.g. `postgres.provisions`). */
  readonly provisions: string;
}

export interface ResourceDriver {
  /** The kind users name in `provision({ kind })`, e.g. `postgres`. */
  readonly kind: string;
  readonly description: string;
  readonly configSchema: z.ZodType;
  readonly meters: ResourceMeters;
  /**
   * Makes the object. Must be safe to call again for the same `ref.id` after a crash part-way
   * (remove or reuse leftovers), and must not leave anything behind when it throws.
   */
  create(ref: ResourceRef): Promise<Provisioned>;
  /** Scales to zero (no compute, no connections); data is kept. Idempotent. */
  suspend(ref: ResourceRef): Promise<void>;
  /**
   * Undoes `suspend`. Idempotent. A driver whose live object changes identity on resume (a browser
   * session) returns the new handle and env; they replace the stored ones.
   */
  resume(ref: ResourceRef): Promise<void | Pick<Provisioned, 'handle' | 'env'>>;
  /** Removes the object and its data. Idempotent: an object already gone is success. */
  destroy(ref: ResourceRef): Promise<void>;
  /** New credentials; the old ones stop working. Drivers without credentials return `{}`. */
  rotateCredentials(ref: ResourceRef): Promise<Readonly<Record<string, string>>>;
  /**
   * Ids of every resource this driver holds an object for, so the reaper can remove objects the
   * store does not know as live.
   */
  listOwned(): Promise<string[]>;
  /** Releases the driver's own connections and processes (not the resources). */
  close(): Promise<void>;
}
