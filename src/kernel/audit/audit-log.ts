/**
 * @module kernel/audit/audit-log
 * The append-only, hash-chained audit log, one chain per tenant.
 *
 * Writes use group commit: entries appended in the same tick share one transaction, and `append`
 * resolves only once its entry is committed, so nothing acknowledged can be lost. A sequential
 * caller pays one small transaction per entry (an INSERT and a compare-and-set UPDATE of the head).
 *
 * The head of each chain is cached; the UPDATE is conditional on the cached seq, so another process
 * writing the same chain (a CLI next to the server on SQLite, or many workers on PostgreSQL) makes
 * the condition fail, and the writer re-reads the head under a row lock instead of forking the chain.
 */
import type { Clock } from '../clock.ts';
import { coerceError } from '../errors.ts';
import { forUpdate, type Store, type Transaction } from '../store/store.ts';
import { chainEntry, GENESIS_HASH, type AuditEntry, type AuditRecord } from './entry.ts';
import { AUDIT_LAYER, auditMigrations } from './migrations.ts';
import { auditPageSql, type AuditQuery } from './query.ts';
import { verifyChain, type ChainHead, type ChainVerdict } from './verify.ts';

interface Pending {
  readonly record: AuditRecord;
  readonly resolve: (entry: AuditEntry) => void;
  readonly reject: (error: unknown) => void;
}

type AuditRow = {
  tenant_id: string;
  seq: number;
  id: string;
  ts: number;
  principal_id: string;
  action: string;
  resource: string;
  outcome: AuditEntry['outcome'];
  error_code: string | null;
  detail: string;
  duration_us: number;
  cost_micros: number;
  prev_hash: string;
  hash: string;
  run_id: string | null;
  root_run_id: string | null;
};

const INSERT = `INSERT INTO kernel_audit (tenant_id, seq, id, ts, principal_id, action, resource, outcome,
  error_code, detail, duration_us, cost_micros, prev_hash, hash, run_id, root_run_id)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`;

export function entryFromRow(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    seq: row.seq,
    ts: row.ts,
    principalId: row.principal_id,
    action: row.action,
    resource: row.resource,
    outcome: row.outcome,
    errorCode: row.error_code,
    detail: JSON.parse(row.detail) as unknown,
    durationUs: row.duration_us,
    costMicros: row.cost_micros,
    // Only when set: an entry without a run is the same object (and hash) as before runs were recorded.
    ...(row.run_id === null ? {} : { runId: row.run_id }),
    ...(row.root_run_id === null ? {} : { rootRunId: row.root_run_id }),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export class AuditLog {
  readonly #store: Store;
  readonly #heads = new Map<string, ChainHead>();
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;

  private constructor(store: Store) {
    this.#store = store;
  }

  static async open(options: { store: Store; clock?: Clock }): Promise<AuditLog> {
    await options.store.migrate(AUDIT_LAYER, auditMigrations);
    return new AuditLog(options.store);
  }

  /** Appends an entry; resolves with its place in the chain once committed. */
  append(record: AuditRecord): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#flushing ??= Promise.resolve().then(() => this.#drain());
    });
  }

  /** Waits until every appended entry is committed. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          const entries = await this.#store.transaction((tx) => this.#write(tx, batch));
          batch.forEach((p, i) => p.resolve(entries[i] as AuditEntry));
        } catch (error) {
          for (const p of batch) this.#heads.delete(p.record.tenantId);
          const failure = coerceError(error);
          batch.forEach((p) => p.reject(failure));
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #write(tx: Transaction, batch: readonly Pending[]): Promise<AuditEntry[]> {
    const out = new Array<AuditEntry>(batch.length);
    const byTenant = new Map<string, number[]>();
    batch.forEach((p, i) => {
      const list = byTenant.get(p.record.tenantId);
      if (list) list.push(i);
      else byTenant.set(p.record.tenantId, [i]);
    });
    for (const [tenantId, indexes] of byTenant) {
      const cached = this.#heads.get(tenantId);
      let head = cached ?? (await this.#lockHead(tx, tenantId));
      let chained = this.#chain(batch, indexes, head);
      const last = chained.at(-1) as AuditEntry;
      const cas = await tx.run(
        'UPDATE kernel_audit_heads SET seq = ?, hash = ? WHERE tenant_id = ? AND seq = ?',
        [last.seq, last.hash, tenantId, head.seq],
      );
      if (cas.changes === 0 && cached) {
        head = await this.#lockHead(tx, tenantId);
        chained = this.#chain(batch, indexes, head);
        const again = chained.at(-1) as AuditEntry;
        await tx.run('UPDATE kernel_audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?', [
          again.seq,
          again.hash,
          tenantId,
        ]);
      }
      for (const entry of chained) {
        await tx.run(INSERT, [
          entry.tenantId,
          entry.seq,
          entry.id,
          entry.ts,
          entry.principalId,
          entry.action,
          entry.resource,
          entry.outcome,
          entry.errorCode,
          JSON.stringify(entry.detail ?? null),
          entry.durationUs,
          entry.costMicros,
          entry.prevHash,
          entry.hash,
          entry.runId ?? null,
          entry.rootRunId ?? null,
        ]);
      }
      indexes.forEach((index, k) => (out[index] = chained[k] as AuditEntry));
      const tail = chained.at(-1) as AuditEntry;
      this.#heads.set(tenantId, { seq: tail.seq, hash: tail.hash });
    }
    return out;
  }

  #chain(batch: readonly Pending[], indexes: readonly number[], head: ChainHead): AuditEntry[] {
    let { seq, hash } = head;
    return indexes.map((i) => {
      const entry = chainEntry((batch[i] as Pending).record, ++seq, hash);
      hash = entry.hash;
      return entry;
    });
  }

  /** Reads a tenant's head under a row lock, creating the genesis head on first use. */
  async #lockHead(tx: Transaction, tenantId: string): Promise<ChainHead> {
    await tx.run(
      'INSERT INTO kernel_audit_heads (tenant_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT DO NOTHING',
      [tenantId, GENESIS_HASH],
    );
    const row = await tx.get<{ seq: number; hash: string }>(
      `SELECT seq, hash FROM kernel_audit_heads WHERE tenant_id = ?${forUpdate(tx)}`,
      [tenantId],
    );
    return { seq: row?.seq ?? 0, hash: row?.hash ?? GENESIS_HASH };
  }

  /** Entries of a tenant in chain order, paged so a long chain never sits in memory at once. */
  async *entries(
    tenantId: string,
    options: { afterSeq?: number; pageSize?: number } = {},
  ): AsyncGenerator<AuditEntry> {
    const pageSize = options.pageSize ?? 1000;
    let after = options.afterSeq ?? 0;
    for (;;) {
      const rows = await this.#store.all<AuditRow>(
        'SELECT * FROM kernel_audit WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?',
        [tenantId, after, pageSize],
      );
      for (const row of rows) yield entryFromRow(row);
      if (rows.length < pageSize) return;
      after = (rows.at(-1) as AuditRow).seq;
    }
  }

  /** One page of a tenant's entries, optionally filtered (see query.ts). */
  async list(tenantId: string, query: AuditQuery = {}): Promise<AuditEntry[]> {
    const { sql, params } = auditPageSql(tenantId, query, this.#store.dialect);
    const rows = await this.#store.all<AuditRow>(sql, params);
    return rows.map(entryFromRow);
  }

  async head(tenantId: string): Promise<ChainHead> {
    const row = await this.#store.get<{ seq: number; hash: string }>(
      'SELECT seq, hash FROM kernel_audit_heads WHERE tenant_id = ?',
      [tenantId],
    );
    return { seq: row?.seq ?? 0, hash: row?.hash ?? GENESIS_HASH };
  }

  /** Verifies a tenant's whole chain against its recorded head; `onEntry` after each entry read. */
  async verify(tenantId: string, onEntry?: () => void): Promise<ChainVerdict> {
    await this.flush();
    const head = await this.head(tenantId);
    const collected: AuditEntry[] = [];
    for await (const entry of this.entries(tenantId)) {
      collected.push(entry);
      onEntry?.();
    }
    return verifyChain(tenantId, collected, head);
  }

  /** Tenants that have a chain. */
  async tenants(): Promise<string[]> {
    const rows = await this.#store.all<{ tenant_id: string }>(
      'SELECT tenant_id FROM kernel_audit_heads ORDER BY tenant_id',
    );
    return rows.map((r) => r.tenant_id);
  }
}
