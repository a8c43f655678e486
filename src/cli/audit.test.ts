// `strata audit verify` must catch tampering done behind Strata's back: a few syscalls run through
// the kernel pipeline (in process; the CLI's own syscall command is tested in cli.test.ts), then the
// SQLite file is edited directly (an edited, a deleted and a reordered row, each
// in a fresh copy of the data dir) and verification must exit 5 naming the first bad entry.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { jsonOf, runCli, tempCli, withTestRuntime } from './testing.ts';

interface FirstBad {
  seq: number;
  id: string;
  problem: string;
  detail: string;
}
interface BrokenDoc {
  error: { code: string; message: string; data: { tenantId: string; firstBad: FirstBad } };
}

const template = tempCli();
let acmeId = '';
const cleanups: (() => void)[] = [template.dispose];

before(async () => {
  await withTestRuntime(template.dataDir, async ({ kernel }) => {
    const callerOf = async (name: string) => {
      const tenant = await kernel.principals.createTenant(name);
      const { key } = await kernel.principals.createApiKey({
        tenantId: tenant.id,
        name: 'cli',
        grants: [{ syscall: 'kernel.echo', resource: '*' }],
      });
      return { tenant, principal: await kernel.authenticate({ apiKey: key }) };
    };
    const acme = await callerOf('acme');
    acmeId = acme.tenant.id;
    const echo = (principal: typeof acme.principal, message: string) =>
      kernel.call('kernel.echo', { message }, { principal });
    // seq 1..4 of acme's chain: ok, denied (still audited), ok, ok.
    await echo(acme.principal, 'one');
    await assert.rejects(kernel.call('kernel.time', {}, { principal: acme.principal }), /kernel\.time/);
    await echo(acme.principal, 'three');
    await echo(acme.principal, 'four');
    await echo((await callerOf('beta')).principal, 'b');
  });
});
after(() => cleanups.forEach((cleanup) => cleanup()));

/** A fresh data dir holding a copy of the template's state, tampered with by `tamper`. */
function tamperedCopy(tamper: (db: Database.Database) => void): ReturnType<typeof tempCli> {
  const copy = tempCli();
  cleanups.push(copy.dispose);
  cpSync(template.dataDir, copy.dataDir, { recursive: true });
  const db = new Database(join(copy.dataDir, 'strata.db'));
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return copy;
}

function idAt(db: Database.Database, seq: number): string {
  const row = db.prepare('SELECT id FROM kernel_audit WHERE tenant_id = ? AND seq = ?').get(acmeId, seq) as {
    id: string;
  };
  return row.id;
}

async function expectBroken(
  cli: ReturnType<typeof tempCli>,
  expected: Omit<FirstBad, 'detail'>,
): Promise<void> {
  const result = await cli.run(['audit', 'verify', '--json']);
  assert.equal(result.code, 5, result.stdout + result.stderr);
  const { error } = jsonOf<BrokenDoc>(result);
  assert.equal(error.code, 'E_AUDIT_CHAIN_BROKEN');
  assert.equal(error.data.tenantId, acmeId);
  const { detail, ...named } = error.data.firstBad;
  assert.deepEqual(named, expected);
  assert.ok(detail.length > 0);
}

test('an untouched database verifies, every tenant listed', async () => {
  const doc = await template.json<{
    ok: boolean;
    tenants: { name: string; entries: number; headHash: string }[];
  }>(['audit', 'verify']);
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.tenants.map((t) => [t.name, t.entries]).sort(), [
    ['acme', 4],
    ['beta', 1],
  ]);
  assert.ok(doc.tenants.every((t) => /^[0-9a-f]{64}$/.test(t.headHash)));
});

test('an edited row fails verification at that row', async () => {
  let id = '';
  const cli = tamperedCopy((db) => {
    id = idAt(db, 2);
    db.prepare('UPDATE kernel_audit SET detail = ? WHERE tenant_id = ? AND seq = 2').run(
      '{"input":{"forged":true}}',
      acmeId,
    );
  });
  await expectBroken(cli, { seq: 2, id, problem: 'edited' });
  // Other tenants' chains are unaffected.
  assert.equal((await cli.run(['audit', 'verify', '--tenant', 'beta'])).code, 0);
  const human = await cli.run(['audit', 'verify']);
  assert.equal(human.code, 5);
  assert.match(human.stdout, /first bad entry of acme/);
  assert.match(human.stdout, /problem {2}edited/);
  assert.match(human.stderr, /^error \[E_AUDIT_CHAIN_BROKEN\]: audit chain of acme is broken at seq 2/);
});

test('a deleted middle row fails verification at the row after the gap', async () => {
  let id = '';
  const cli = tamperedCopy((db) => {
    id = idAt(db, 3);
    db.prepare('DELETE FROM kernel_audit WHERE tenant_id = ? AND seq = 2').run(acmeId);
  });
  await expectBroken(cli, { seq: 3, id, problem: 'missing' });
});

test('two rows with swapped seq fail verification at the first of them', async () => {
  let id = '';
  const cli = tamperedCopy((db) => {
    const move = db.prepare('UPDATE kernel_audit SET seq = ? WHERE tenant_id = ? AND seq = ?');
    id = idAt(db, 3);
    db.transaction(() => {
      move.run(-1, acmeId, 2);
      move.run(2, acmeId, 3);
      move.run(3, acmeId, -1);
    })();
  });
  // The row now at seq 2 (formerly seq 3) links to the old seq 2's hash, not to seq 1's.
  await expectBroken(cli, { seq: 2, id, problem: 'relinked' });
});

test('an export verifies offline, and fails once a line is edited', async () => {
  const file = join(template.dataDir, 'acme.jsonl');
  const summary = await template.json<{ entries: number; headSeq: number }>([
    'audit',
    'export',
    '--tenant',
    'acme',
    '--out',
    file,
  ]);
  assert.deepEqual([summary.entries, summary.headSeq], [4, 4]);
  const streamed = await template.run(['audit', 'export', '--tenant', acmeId]);
  assert.equal(streamed.code, 0);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.deepEqual(streamed.stdout.trimEnd().split('\n').slice(1), lines.slice(1));

  // An unreachable --database proves that --file opens no database.
  const offline = ['--data-dir', '/nonexistent/strata', '--database', 'postgres://127.0.0.1:1/none'];
  const good = await runCli([...offline, 'audit', 'verify', '--file', file, '--json']);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.equal(jsonOf<{ ok: boolean }>(good).ok, true);

  const entry = JSON.parse(lines[3] ?? '') as { seq: number; id: string; detail: unknown };
  lines[3] = JSON.stringify({ ...entry, detail: { input: { message: 'forged' } } });
  const forged = join(template.dataDir, 'forged.jsonl');
  writeFileSync(forged, `${lines.join('\n')}\n`);
  const bad = await runCli([...offline, 'audit', 'verify', '--file', forged, '--json']);
  assert.equal(bad.code, 5);
  assert.deepEqual(
    { ...jsonOf<BrokenDoc>(bad).error.data.firstBad, detail: '' },
    { seq: entry.seq, id: entry.id, problem: 'edited', detail: '' },
  );
});
