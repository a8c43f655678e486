// The audit tamper test once more against PostgreSQL (`--database`), the distributed engine's store.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../testkit/pg.ts';
import { jsonOf, tempCli, withTestRuntime } from './testing.ts';

let db: TestDatabase;
let cli: ReturnType<typeof tempCli>;

before(async () => {
  db = await createTestDatabase();
  cli = tempCli(['--database', db.url]);
});
after(async () => {
  cli.dispose();
  await db.drop();
});

test('an edited row in PostgreSQL makes `audit verify` exit 5 naming it', async () => {
  // Three audited calls through the kernel pipeline, in process on the same PostgreSQL database.
  const tenant = await withTestRuntime(
    cli.dataDir,
    async ({ kernel }) => {
      const acme = await kernel.principals.createTenant('acme');
      const { key } = await kernel.principals.createApiKey({
        tenantId: acme.id,
        name: 'cli',
        grants: [{ syscall: 'kernel.echo', resource: '*' }],
      });
      const principal = await kernel.authenticate({ apiKey: key });
      for (const message of ['one', 'two', 'three'])
        await kernel.call('kernel.echo', { message }, { principal });
      return acme;
    },
    db.url,
  );
  assert.equal((await cli.json<{ ok: boolean }>(['audit', 'verify'])).ok, true);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let id: string;
  try {
    const updated = await client.query<{ id: string }>(
      'UPDATE kernel_audit SET detail = $1 WHERE tenant_id = $2 AND seq = 2 RETURNING id',
      ['{"input":{"message":"forged"}}', tenant.id],
    );
    id = updated.rows[0]?.id ?? '';
  } finally {
    await client.end();
  }

  const result = await cli.run(['audit', 'verify', '--json']);
  assert.equal(result.code, 5, result.stdout + result.stderr);
  const { error } = jsonOf<{
    error: { code: string; data: { firstBad: { seq: number; id: string; problem: string } } };
  }>(result);
  assert.equal(error.code, 'E_AUDIT_CHAIN_BROKEN');
  assert.deepEqual(
    [error.data.firstBad.seq, error.data.firstBad.id, error.data.firstBad.problem],
    [2, id, 'edited'],
  );
});
