/**
 * @module orchestration/approvals/approvals
 * Approvals over the store. A decision is one conditional UPDATE (`WHERE status = 'pending'`), so
 * of two concurrent deciders exactly one wins and the other gets E_CONFLICT; the signal that wakes
 * the asking run is written in the same transaction, so a decided approval always reaches its run.
 */
import {
  newId,
  StrataError,
  type Clock,
  type Principal,
  type Queryable,
  type Store,
} from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import { raiseEscalation } from '../escalations/escalations.ts';
import {
  approvalSignal,
  toApproval,
  type Approval,
  type ApprovalRow,
  type ApprovalStatus,
  type DecidedVia,
  type OnTimeout,
} from './approval-row.ts';
import { isApprover, type AgentNameOf } from './approvers.ts';
import { APPROVALS_LAYER, approvalMigrations } from './migrations.ts';
import { signDecision, type AgentSign, type CanonicalDecision } from './signing.ts';
import { assertValue, checkSchema } from './value-schema.ts';
import { enqueueApprovalEvent } from './webhooks.ts';

export interface RequestInput {
  readonly question: string;
  readonly schema?: Record<string, unknown>;
  readonly approvers: readonly string[];
  readonly timeoutMs?: number;
  readonly onTimeout: OnTimeout;
  readonly mailbox?: string;
}

export interface DecideInput {
  readonly decision: 'approve' | 'reject';
  readonly reason?: string;
  readonly value?: unknown;
  readonly principal: Principal;
  readonly via: DecidedVia;
}

export interface ApprovalFilter {
  readonly status?: ApprovalStatus | 'all';
  readonly runId?: string;
  readonly workflow?: string;
  readonly limit?: number;
}

export interface ApprovalsOptions {
  readonly store: Store;
  readonly engine: Engine;
  readonly masterKey: Buffer;
  readonly clock: Clock;
  /** The agent name behind an agent principal (for `agent:<name>` approvers and signing). */
  readonly agentNameOf?: AgentNameOf;
  /** A signer for an agent's identity key, when the agent has an identity. */
  readonly agentSigner?: (tenant: string, agentName: string) => Promise<AgentSign | undefined>;
}

const TIMEOUT_PRINCIPAL = (tenantId: string): Principal => ({
  tenantId,
  id: 'system:timeout',
  kind: 'agent',
  grants: [],
});

export class Approvals {
  readonly #o: ApprovalsOptions;
  readonly #listeners = new Set<() => void>();

  private constructor(options: ApprovalsOptions) {
    this.#o = options;
  }

  static async open(options: ApprovalsOptions): Promise<Approvals> {
    await options.store.migrate(APPROVALS_LAYER, approvalMigrations);
    return new Approvals(options);
  }

  /** Calls `fn` after an approval event (webhooks) committed in this process; returns an unsubscribe. */
  onEvent(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emitted(): void {
    for (const fn of this.#listeners) fn();
  }

  /** Creates the approval of a run (once per `requestKey`: a repeated request returns the first). */
  async request(
    tenant: string,
    asker: { runId: string; requestKey: string },
    input: RequestInput,
  ): Promise<Approval> {
    if (input.schema) checkSchema(input.schema);
    const { store, clock } = this.#o;
    const run = await store.get<{ workflow: string }>(
      'SELECT workflow FROM orch_runs WHERE id = ? AND tenant_id = ?',
      [asker.runId, tenant],
    );
    if (!run) throw new StrataError('E_NOT_FOUND', `no run ${asker.runId} in this tenant`);
    const now = clock.now();
    const created = await store.transaction(async (tx) => {
      const inserted = await tx.run(
        `INSERT INTO orch_approvals (id, tenant_id, request_key, run_id, workflow, question, schema, approvers, mailbox,
         on_timeout, timeout_at, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
       ON CONFLICT (tenant_id, request_key) DO NOTHING`,
        [
          newId('apr', now),
          tenant,
          asker.requestKey,
          asker.runId,
          run.workflow,
          input.question,
          input.schema ? JSON.stringify(input.schema) : null,
          JSON.stringify(input.approvers),
          input.mailbox ?? null,
          input.onTimeout,
          input.timeoutMs === undefined ? null : now + input.timeoutMs,
          now,
        ],
      );
      const row = await tx.get<ApprovalRow>(
        'SELECT * FROM orch_approvals WHERE tenant_id = ? AND request_key = ?',
        [tenant, asker.requestKey],
      );
      if (!row) throw new StrataError('E_INTERNAL', 'an approval request stored no row');
      const approval = toApproval(row);
      // Only the first request announces it; a repeated one (after a crash) finds it.
      if (inserted.changes === 1) {
        await enqueueApprovalEvent(tx, 'approval.requested', approval, { tenant, now });
        await this.#publishChanged(tx, tenant, approval);
      }
      return { approval, fresh: inserted.changes === 1 };
    });
    if (created.fresh) this.#emitted();
    return created.approval;
  }

  async get(tenant: string, id: string): Promise<Approval> {
    const row = await this.#o.store.get<ApprovalRow>(
      'SELECT * FROM orch_approvals WHERE id = ? AND tenant_id = ?',
      [id, tenant],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no approval ${id.slice(0, 60)} in this tenant`);
    return toApproval(row);
  }

  async list(tenant: string, filter: ApprovalFilter = {}): Promise<Approval[]> {
    const where = ['tenant_id = ?'];
    const params: (string | number)[] = [tenant];
    const add = (clause: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('status = ?', filter.status === 'all' ? undefined : (filter.status ?? 'pending'));
    add('run_id = ?', filter.runId);
    add('workflow = ?', filter.workflow);
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rows = await this.#o.store.all<ApprovalRow>(
      `SELECT * FROM orch_approvals WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`,
      params,
    );
    return rows.map(toApproval);
  }

  /**
   * Decides a pending approval. Checks, in order, before anything is written: it exists
   * (E_NOT_FOUND), is pending (E_CONFLICT), the caller is an approver (E_CAPABILITY_DENIED), an
   * approving value matches the schema (E_INVALID_INPUT). Then the first decision wins.
   */
  async decide(tenant: string, id: string, input: DecideInput): Promise<Approval> {
    const current = await this.get(tenant, id);
    if (current.status !== 'pending') throw alreadyDecided(current);
    const agentNameOf = this.#o.agentNameOf ?? (() => Promise.resolve(undefined));
    if (input.via !== 'timeout' && !(await isApprover(current.approvers, input.principal, agentNameOf)))
      throw new StrataError('E_CAPABILITY_DENIED', `${input.principal.id} is not an approver of ${id}`, {
        approvers: current.approvers,
      });
    if (input.decision === 'approve' && current.schema) assertValue(current.schema, input.value, id);
    const at = this.#o.clock.now();
    const value = input.decision === 'approve' ? input.value : undefined;
    const canonical: CanonicalDecision = {
      approval: id,
      tenant,
      run: current.runId,
      decision: input.decision,
      value: value ?? null,
      reason: input.reason ?? null,
      by: input.principal.id,
      via: input.via,
      at,
    };
    const { signature, signedWith } = await signDecision(
      canonical,
      this.#o.masterKey,
      await this.#agentSign(tenant, input.principal),
    );
    const decided = await this.#o.store.transaction(async (tx) => {
      const row = await tx.get<ApprovalRow>(
        `UPDATE orch_approvals SET status = ?, decided_by = ?, decided_via = ?, reason = ?, value = ?, signature = ?,
           signed_with = ?, decided_at = ? WHERE id = ? AND tenant_id = ? AND status = 'pending' RETURNING *`,
        [
          input.decision === 'approve' ? 'approved' : 'rejected',
          input.principal.id,
          input.via,
          input.reason ?? null,
          value === undefined ? null : JSON.stringify(value),
          signature,
          signedWith,
          at,
          id,
          tenant,
        ],
      );
      if (!row) return undefined;
      const approval = toApproval(row);
      await tx.run(
        'INSERT INTO orch_signals (id, run_id, name, payload, created_at) VALUES (?, ?, ?, ?, ?)',
        [newId('sig', at), approval.runId, approvalSignal(id), JSON.stringify(approval), at],
      );
      await this.#o.engine.wake(tx, approval.runId);
      const type = input.via === 'timeout' ? 'approval.expired' : 'approval.decided';
      await enqueueApprovalEvent(tx, type, approval, { tenant, now: at });
      await this.#publishChanged(tx, tenant, approval);
      return approval;
    });
    if (decided) {
      this.#emitted();
      return decided;
    }
    throw alreadyDecided(await this.get(tenant, id)); // another decision committed first
  }

  /**
   * The asking run's deadline passed: `reject`/`approve` decide it (unless a person decided first:
   * that decision is returned); `escalate` raises a P1 escalation and leaves it pending.
   */
  async timeout(tenant: string, id: string, runId: string | undefined): Promise<Approval> {
    const current = await this.get(tenant, id);
    if (current.runId !== runId)
      throw new StrataError('E_CAPABILITY_DENIED', `only run ${current.runId} times out approval ${id}`);
    if (current.status !== 'pending') return current;
    const now = this.#o.clock.now();
    if (current.timeoutAt === null || now < current.timeoutAt)
      throw new StrataError('E_CONFLICT', `approval ${id} has not timed out yet`, {
        timeoutAt: current.timeoutAt,
      });
    if (current.onTimeout === 'escalate') {
      const escalated = await this.#o.store.transaction(async (tx) => {
        const marked = await tx.run(
          'UPDATE orch_approvals SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL',
          [now, id],
        );
        if (marked.changes !== 1) return false;
        await raiseEscalation(
          tx,
          tenant,
          {
            key: `approval:${id}`,
            severity: 'P1',
            title: `approval not decided in time: ${current.question.slice(0, 200)}`,
            detail: `run ${current.runId} (${current.workflow}) is waiting for approval ${id}`,
            source: 'approvals',
          },
          now,
        );
        await enqueueApprovalEvent(tx, 'approval.expired', { ...current, escalatedAt: now }, { tenant, now });
        return true;
      });
      if (escalated) this.#emitted();
      return this.get(tenant, id);
    }
    const decision = current.onTimeout === 'approve' ? 'approve' : 'reject';
    return this.decide(tenant, id, {
      decision,
      reason: 'timed out',
      principal: TIMEOUT_PRINCIPAL(tenant),
      via: 'timeout',
    }).catch(async (error: unknown) => {
      const now2 = await this.get(tenant, id);
      if (now2.status !== 'pending') return now2; // a person decided first: theirs stands
      throw error;
    });
  }

  /** `approval:changed` on the kernel event bus, last in the transaction (see kernel/events/bus.ts). */
  async #publishChanged(tx: Queryable, tenant: string, approval: Approval): Promise<void> {
    await this.#o.engine.events.publish(tx, {
      topic: 'approval:changed',
      tenantId: tenant,
      payload: { id: approval.id, runId: approval.runId, status: approval.status },
    });
  }

  async #agentSign(tenant: string, principal: Principal): Promise<AgentSign | undefined> {
    if (principal.kind !== 'agent' || !this.#o.agentSigner || !this.#o.agentNameOf) return undefined;
    const name = await this.#o.agentNameOf(principal);
    return name === undefined ? undefined : this.#o.agentSigner(tenant, name);
  }
}

function alreadyDecided(approval: Approval): StrataError {
  return new StrataError('E_CONFLICT', `approval ${approval.id} is already ${approval.status}`, {
    status: approval.status,
    decidedBy: approval.decidedBy,
  });
}
