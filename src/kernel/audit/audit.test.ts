// The audit chain on both engines: appends chain per tenant, concurrent writers (two "processes")
// never fork a chain, and any edit, deletion, reordering or truncation is caught and named.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onEveryStore } from '../../testkit/stores.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { AuditLog } from './audit-log.ts';
import type { AuditRecord } from './entry.ts';
import { entryLine, EXPORT_FORMAT, headerLine, verifyExport } from './export.ts';

const record = (tenantId: string, n: number): AuditRecord => ({
  id: newId('aud'),
  tenantId,
  ts: 1_800_000_000_000 + n,
  principalId: 'key_x',
  action: 'kernel.echo',
  resource: 'kernel/echo',
  outcome: 'ok',
  errorCode: null,
  detail: { input: { message: `m${n}` } },
  durationUs: 10,
  costMicros: 0,
});

async function seeded(store: Store, tenantId: string, n: number): Promise<AuditLog> {
  const log = await AuditLog.open({ store });
  for (let i = 1; i <= n; i++) await log.append(record(tenantId, i));
  return log;
}

onEveryStore('audit log', (db) => {
  let tenantCounter = 0;
  const tenant = (): string => `ten_audit_${++tenantCounter}`;

  it('chains entries per tenant and verifies', async () => {
    const store = await db().open();
    const [a, b] = [tenant(), tenant()];
    const log = await seeded(store, a, 5);
    await log.append(record(b, 1));
    const verdict = await log.verify(a);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.entries, 5);
    assert.equal((await log.verify(b)).entries, 1);
    const entries = await log.list(a);
    assert.deepEqual(
      entries.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    assert.equal(entries[1]?.prevHash, entries[0]?.hash);
    await store.close();
  });

  it('group-commits concurrent appends and two writers on one database never fork the chain', async () => {
    // Two logs with their own head caches; on PostgreSQL on two pools. (Two SQLite connections in
    // one thread would deadlock on the write lock: busy_timeout blocks the thread that must commit.)
    const s1 = await db().open();
    const s2 = db().dialect === 'postgres' ? await db().open() : s1;
    const t = tenant();
    const [l1, l2] = [await AuditLog.open({ store: s1 }), await AuditLog.open({ store: s2 })];
    // Warm both head caches, then interleave: each writer's cached head goes stale in turn.
    await l1.append(record(t, 0));
    await l2.append(record(t, 0));
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? l1 : l2).append(record(t, i + 1))));
    const verdict = await l1.verify(t);
    assert.equal(verdict.ok, true, JSON.stringify(verdict.firstBad));
    assert.equal(verdict.entries, 62);
    await s1.close();
    if (s2 !== s1) await s2.close();
  });

  const tamper = async (
    sql: (t: string) => [string, (string | number)[]][],
    expected: { seq: number; problem: string },
  ): Promise<void> => {
    const store = await db().open();
    const t = tenant();
    const log = await seeded(store, t, 6);
    for (const [statement, params] of sql(t)) await store.run(statement, params);
    const verdict = await log.verify(t);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.firstBad?.seq, expected.seq);
    assert.equal(verdict.firstBad?.problem, expected.problem);
    await store.close();
  };

  it('detects an edited entry and names it', () =>
    tamper(
      (t) => [
        [
          `UPDATE kernel_audit SET detail = ? WHERE tenant_id = ? AND seq = 3`,
          ['{"input":{"message":"forged"}}', t],
        ],
      ],
      {
        seq: 3,
        problem: 'edited',
      },
    ));

  it('detects a deleted entry', () =>
    tamper((t) => [['DELETE FROM kernel_audit WHERE tenant_id = ? AND seq = 4', [t]]], {
      seq: 5,
      problem: 'missing',
    }));

  it('detects reordered entries', () =>
    tamper(
      (t) => [
        ['UPDATE kernel_audit SET seq = -2 WHERE tenant_id = ? AND seq = 2', [t]],
        ['UPDATE kernel_audit SET seq = 2 WHERE tenant_id = ? AND seq = 5', [t]],
        ['UPDATE kernel_audit SET seq = 5 WHERE tenant_id = ? AND seq = -2', [t]],
      ],
      { seq: 2, problem: 'relinked' },
    ));

  it('detects deletion of the newest entries (truncation)', () =>
    tamper((t) => [['DELETE FROM kernel_audit WHERE tenant_id = ? AND seq >= 5', [t]]], {
      seq: 5,
      problem: 'truncated',
    }));

  it('exports JSON Lines that verify offline, and an edited line fails', async () => {
    const store = await db().open();
    const t = tenant();
    const log = await seeded(store, t, 4);
    const lines = [
      headerLine({ format: EXPORT_FORMAT, tenantId: t, head: await log.head(t), exportedAt: 0 }),
    ];
    for await (const entry of log.entries(t)) lines.push(entryLine(entry));
    assert.equal(verifyExport(lines.join('\n')).ok, true);
    const forged = lines.map((l, i) => (i === 2 ? l.replace('"m2"', '"m9"') : l));
    assert.equal(verifyExport(forged.join('\n')).firstBad?.problem, 'edited');
    assert.throws(() => verifyExport(`${lines[0]}\n{not json`), /line 2/);
    await store.close();
  });
});
