// Audit entries that name a durable run, on both engines: an entry without a run hashes exactly as
// entries did before run ids existed (a golden hash computed by the code before the change), a chain
// written by the version-1 schema keeps verifying after the upgrade and entries with runs are
// appended to it, an edit of an entry's run is caught, and the log reads a run's entries (or a
// tree's) in seq order, both ways, paged, combined with the other filters, and exported.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onEveryStore } from '../../testkit/stores.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { AuditLog } from './audit-log.ts';
import { chainEntry, GENESIS_HASH, hashEntry, type AuditEntry, type AuditRecord } from './entry.ts';
import { entryLine, EXPORT_FORMAT, headerLine, verifyExport } from './export.ts';
import { AUDIT_LAYER, auditMigrations } from './migrations.ts';

const GOLDEN = {
  id: 'aud_01JD3Q8Z5V7XKXG5M4N2T9W6YB',
  tenantId: 'ten_golden',
  seq: 7,
  ts: 1_800_000_000_000,
  principalId: 'key_golden',
  action: 'kernel.echo',
  resource: 'kernel/echo',
  outcome: 'ok' as const,
  errorCode: null,
  detail: { input: { message: 'hi' } },
  durationUs: 12,
  costMicros: 3,
  prevHash: 'a'.repeat(64),
};
/** hashEntry(GOLDEN) as computed by entry.ts before run ids existed (commit 472d4de). */
const GOLDEN_HASH = '41750c81ee09b218b60941ba98ef24262e106afb2e208f798bcb7326c5399c68';

it('hashes an entry without a run exactly as before run ids existed, and one with a run differently', () => {
  assert.equal(hashEntry(GOLDEN), GOLDEN_HASH);
  // null is "no run" too (an export written by another tool may spell it so).
  assert.equal(
    hashEntry({ ...GOLDEN, runId: null, rootRunId: null } as unknown as typeof GOLDEN),
    GOLDEN_HASH,
  );
  const inRun = hashEntry({ ...GOLDEN, runId: 'run_a' });
  const inTree = hashEntry({ ...GOLDEN, runId: 'run_a', rootRunId: 'run_r' });
  assert.equal(new Set([GOLDEN_HASH, inRun, inTree, hashEntry({ ...GOLDEN, runId: 'run_b' })]).size, 4);
});

const record = (tenantId: string, n: number, run?: { runId: string; rootRunId?: string }): AuditRecord => ({
  id: newId('aud'),
  tenantId,
  ts: 1_800_000_000_000 + n,
  principalId: n % 2 ? 'key_odd' : 'key_even',
  action: n % 3 ? 'kernel.echo' : 'runs.cancel',
  resource: 'kernel/echo',
  outcome: 'ok',
  errorCode: null,
  detail: { input: { n } },
  durationUs: 10,
  costMicros: 0,
  ...run,
});

/** Writes `n` entries the way the version-1 code did: its columns only, its hash. */
async function writeV1Chain(store: Store, tenantId: string, n: number): Promise<void> {
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = chainEntry(record(tenantId, seq), seq, prev);
    await store.run(
      `INSERT INTO kernel_audit (tenant_id, seq, id, ts, principal_id, action, resource, outcome, error_code,
        detail, duration_us, cost_micros, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      [
        ...[tenantId, seq, e.id, e.ts, e.principalId, e.action, e.resource, e.outcome, null],
        ...[JSON.stringify(e.detail), e.durationUs, e.costMicros, e.prevHash, e.hash],
      ],
    );
    prev = e.hash;
  }
  await store.run('INSERT INTO kernel_audit_heads (tenant_id, seq, hash) VALUES (?, ?, ?)', [
    tenantId,
    n,
    prev,
  ]);
}

onEveryStore('audit entries of a run', (db) => {
  const [runA, runB, root] = [newId('run'), newId('run'), newId('run')];
  const t = 'ten_runs';
  let store: Store;
  let log: AuditLog;
  let written: AuditEntry[];

  it('upgrades a version-1 chain: old entries still verify, new ones carry their run', async () => {
    store = await db().open();
    await store.migrate(AUDIT_LAYER, auditMigrations.slice(0, 1));
    await writeV1Chain(store, t, 5);
    log = await AuditLog.open({ store }); // applies version 2
    assert.equal((await log.verify(t)).ok, true);
    // seq 6..25: run A (a child of root), run B (its own root), the root, and calls outside any run.
    written = [];
    for (let n = 6; n <= 25; n++) {
      const run = [
        { runId: runA, rootRunId: root },
        { runId: runB, rootRunId: runB },
        { runId: root },
        undefined,
      ][n % 4];
      written.push(await log.append(record(t, n, run)));
    }
    const verdict = await log.verify(t);
    assert.equal(verdict.ok, true, JSON.stringify(verdict.firstBad));
    assert.equal(verdict.entries, 25);
    const stored = await log.list(t, { afterSeq: 0, limit: 1000 });
    assert.equal(stored[0]?.runId, undefined, 'an old entry reads back without run fields');
    assert.ok(!('runId' in (stored[0] ?? {})) && !('rootRunId' in (stored[0] ?? {})));
    assert.deepEqual(
      stored.slice(5).map((e) => [e.runId, e.rootRunId]),
      written.map((e) => [e.runId, e.rootRunId]),
    );
  });

  it('lists one run’s entries in seq order, newest first, paged, and with the other filters', async () => {
    const ofA = written.filter((e) => e.runId === runA).map((e) => e.seq);
    assert.equal(ofA.length, 5);
    assert.deepEqual(
      (await log.list(t, { runId: runA, limit: 1000 })).map((e) => e.seq),
      ofA,
    );
    const seen: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await log.list(t, { runId: runA, order: 'desc', limit: 2, beforeSeq });
      seen.push(...page.map((e) => e.seq));
      if (page.length < 2) break;
      beforeSeq = page.at(-1)?.seq;
    }
    assert.deepEqual(seen, [...ofA].reverse());
    assert.deepEqual(
      (await log.list(t, { runId: runA, afterSeq: ofA[2], limit: 1000 })).map((e) => e.seq),
      ofA.slice(3),
    );
    const cancels = await log.list(t, { runId: runA, action: 'runs.', principalId: 'key_even', limit: 1000 });
    assert.deepEqual(
      cancels.map((e) => e.seq),
      written
        .filter((e) => e.runId === runA && e.action === 'runs.cancel' && e.principalId === 'key_even')
        .map((e) => e.seq),
    );
    assert.deepEqual(await log.list(t, { runId: newId('run') }), []);
    assert.deepEqual(await log.list('ten_other', { runId: runA }), [], 'never another tenant’s');
  });

  it('lists a tree by its root: the root’s own entries and its descendants’', async () => {
    const tree = await log.list(t, { rootRunId: root, limit: 1000 });
    assert.deepEqual(
      tree.map((e) => e.seq),
      written.filter((e) => e.rootRunId === root).map((e) => e.seq),
    );
    assert.ok(
      tree.every((e) => e.runId === runA),
      'the root entries written without a root id are not in it',
    );
    assert.deepEqual(
      (await log.list(t, { rootRunId: runB, limit: 1000 })).map((e) => e.runId),
      Array.from({ length: 5 }, () => runB),
    );
  });

  it('catches an entry whose run was changed, added or removed behind its back', async () => {
    const other = await db().open(); // the edits are made behind the log's back
    for (const [seq, column, value] of [
      [7, 'run_id', runB], // added to an entry made outside any run
      [2, 'run_id', runA], // added to an entry written before run ids existed
      [8, 'root_run_id', null], // removed
      [12, 'run_id', runB], // changed
    ] as const) {
      const was = await other.get<Record<string, string | null>>(
        `SELECT ${column} AS v FROM kernel_audit WHERE tenant_id = ? AND seq = ?`,
        [t, seq],
      );
      await other.run(`UPDATE kernel_audit SET ${column} = ? WHERE tenant_id = ? AND seq = ?`, [
        value,
        t,
        seq,
      ]);
      const verdict = await log.verify(t);
      assert.deepEqual(
        [verdict.ok, verdict.firstBad?.seq, verdict.firstBad?.problem],
        [false, seq, 'edited'],
      );
      await other.run(`UPDATE kernel_audit SET ${column} = ? WHERE tenant_id = ? AND seq = ?`, [
        was?.['v'] ?? null,
        t,
        seq,
      ]);
      assert.equal((await log.verify(t)).ok, true);
    }
    await other.close();
  });

  it('exports entries with and without runs as JSON Lines that verify offline', async () => {
    const lines = [
      headerLine({ format: EXPORT_FORMAT, tenantId: t, head: await log.head(t), exportedAt: 0 }),
    ];
    for await (const entry of log.entries(t)) lines.push(entryLine(entry));
    assert.equal(verifyExport(lines.join('\n')).ok, true);
    // lines[n] is seq n: 8 is run A's, in root's tree; 1 was written before run ids existed.
    assert.match(lines[8] ?? '', new RegExp(`"runId":"${runA}","rootRunId":"${root}"`));
    assert.doesNotMatch(lines[1] ?? '', /runId/);
    const moved = lines.map((l, i) => (i === 8 ? l.replace(runA, runB) : l));
    assert.equal(verifyExport(moved.join('\n')).firstBad?.problem, 'edited');
    await store.close();
  });
});
