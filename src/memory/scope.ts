/**
 * @module memory/scope
 * Scope validation and the capability resource a scope maps to.
 *
 * Resource: `memory/agent/<agentId|_>/user/<userId|_>/run/<runId|_>`, where `_` stands for an
 * absent field (ids must start with a letter or digit, so `_` is never an id). Agent comes first
 * so a grant can confine an agent to its own memories:
 * `{ syscall: 'memory.*', resource: 'memory/agent/a1/*' }` allows every user and run of agent a1
 * and nothing of agent a2 — nor an agent-less read, whose resource is `memory/agent/_/…` and which
 * would see every agent's memories.
 */
import { z } from 'zod';
import { StrataError } from '../kernel/index.ts';
import type { Scope } from './types.ts';

export const SCOPE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

const id = z.string().regex(SCOPE_ID, 'ids are 1-128 chars of letters, digits and ._:@- starting alnum');

export const scopeSchema = z
  .object({ userId: id.optional(), agentId: id.optional(), runId: id.optional() })
  .strict();

/** Validates a scope given to the library directly (syscalls validate with {@link scopeSchema}). */
export function checkScope(scope: Scope, forWrite: boolean): Scope {
  const parsed = scopeSchema.safeParse(scope);
  if (!parsed.success) {
    throw new StrataError('E_INVALID_INPUT', `invalid scope: ${parsed.error.issues[0]?.message ?? ''}`, {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  const s = parsed.data;
  if (forWrite && s.userId === undefined && s.agentId === undefined && s.runId === undefined) {
    throw new StrataError('E_INVALID_INPUT', 'a memory needs a scope: give userId, agentId or runId');
  }
  return s;
}

export function scopeResource(scope: Scope | undefined): string {
  const s = scope ?? {};
  return `memory/agent/${s.agentId ?? '_'}/user/${s.userId ?? '_'}/run/${s.runId ?? '_'}`;
}

/** Whether a memory with scope `owner` is visible to a read scoped to `reader` (absent = any). */
export function inScope(owner: Scope, reader: Scope): boolean {
  return (
    (reader.userId === undefined || owner.userId === reader.userId) &&
    (reader.agentId === undefined || owner.agentId === reader.agentId) &&
    (reader.runId === undefined || owner.runId === reader.runId)
  );
}

/** A stable key for one exact scope (used to order a conversation's messages). */
export function scopeKey(scope: Scope): string {
  return `${scope.userId ?? ''}\u0000${scope.agentId ?? ''}\u0000${scope.runId ?? ''}`;
}
