/**
 * @module provisioning/resources/records
 * The stored shape of a resource and its public view, name validation and the request hash that
 * makes a provision idempotent. Kept apart from the manager so the syscalls, the sweeper and the
 * reports read the same definitions.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { StrataError } from '../../kernel/index.ts';
import type { ResourceRef, ResourceState } from './types.ts';

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export type ResourceRow = {
  id: string;
  tenant_id: string;
  kind: string;
  name: string;
  state: ResourceState;
  config: string;
  labels: string;
  handle: string;
  env: string;
  subject: string;
  idempotency_key: string;
  request_hash: string;
  idle_ms: number | string;
  expires_at: number | string | null;
  last_used_at: number | string;
  ready_since: number | string | null;
  transitions: number;
  error: string | null;
  created_at: number | string;
  updated_at: number | string;
};

/** A resource as callers see it: never a secret (those are in the vault). */
export interface Resource {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly state: ResourceState;
  readonly config: unknown;
  readonly labels: Readonly<Record<string, string>>;
  /** Non-secret connection details; secrets come from `env({ reveal: true })` or `use`. */
  readonly env: Readonly<Record<string, string>>;
  /** Who is billed: `tenant`, `agent:<id>` or `run:<id>`. */
  readonly subject: string;
  readonly idleMs: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number;
  readonly error: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Transition {
  readonly seq: number;
  readonly from: ResourceState | null;
  readonly to: ResourceState;
  readonly reason: string;
  readonly at: number;
}

const NAME = /^[a-z][a-z0-9_-]*$/;

/** Names end up in env files, CLI output and paths: keep them boring, and at most 63 bytes. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name) || Buffer.byteLength(name) > 63)
    throw new StrataError(
      'E_INVALID_RESOURCE_NAME',
      'a resource name is 1–63 bytes of a-z, 0-9, - and _, starting with a letter',
      { name: typeof name === 'string' ? name.slice(0, 80) : typeof name },
    );
  return name;
}

export function requestHash(request: unknown): string {
  return createHash('sha256')
    .update(canonicalize(request) ?? '')
    .digest('base64url');
}

export const json = (value: unknown): string => JSON.stringify(value ?? {});
const num = (value: number | string): number => Number(value);

export function toResource(row: ResourceRow): Resource {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    state: row.state,
    config: JSON.parse(row.config) as unknown,
    labels: JSON.parse(row.labels) as Record<string, string>,
    env: JSON.parse(row.env) as Record<string, string>,
    subject: row.subject,
    idleMs: num(row.idle_ms),
    expiresAt: row.expires_at === null ? null : num(row.expires_at),
    lastUsedAt: num(row.last_used_at),
    error: row.error,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function toRef(row: ResourceRow): ResourceRef {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    config: JSON.parse(row.config) as unknown,
    handle: JSON.parse(row.handle) as Record<string, string>,
  };
}

/** Refuses an action the resource's state does not allow, naming the state. */
export function expectState(row: ResourceRow, states: readonly ResourceState[]): void {
  if (!states.includes(row.state))
    throw new StrataError('E_RESOURCE_STATE', `resource ${row.name} is ${row.state}`, {
      resourceId: row.id,
      state: row.state,
      allowed: states,
    });
}
