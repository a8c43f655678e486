/**
 * `strata resources …` as a user runs it (child processes): the catalog, add (idempotent), ls, env
 * with secrets redacted, history, suspend/resume, rm, and exit codes that mean something for an
 * unpriced kind, a bad name and destroying twice.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../src/kernel/errors.ts';
import { jsonOf, seedAdminKey, tempCli } from '../src/cli/testing.ts';

type Resource = { id: string; name: string; state: string; env: Record<string, string> };

void describe('strata resources', () => {
  const cli = tempCli();
  let env: Record<string, string>;
  before(async () => {
    env = await seedAdminKey(cli.dataDir, {
      setup: async (runtime, principal) => {
        for (const [meter, unitAmount] of [
          ['sqlite.provisions', '0.01'],
          ['sqlite.ready_seconds', '0.00001'],
        ])
          await runtime.kernel.call('billing.prices.set', { meter, unitAmount }, { principal });
      },
    });
  });
  after(() => cli.dispose());

  void it('catalog, add (idempotent), ls, env, history, suspend, resume, rm', async () => {
    const catalog = jsonOf<{ kinds: { kind: string }[] }>(
      await cli.run(['resources', 'catalog', '--json'], { env }),
    );
    assert.deepEqual(catalog.kinds.map((k) => k.kind).sort(), ['browser', 'sandbox', 'sqlite']);

    const add = [
      'resources',
      'add',
      'sqlite',
      'notes',
      '--idempotency-key',
      'k1',
      '--label',
      'team=a',
      '--json',
    ];
    const first = await cli.run(add, { env });
    assert.equal(first.code, 0, first.stderr);
    const made = jsonOf<Resource>(first);
    assert.equal(made.state, 'ready');
    assert.ok(existsSync(made.env['SQLITE_PATH'] as string));
    assert.equal(jsonOf<Resource>(await cli.run(add, { env })).id, made.id, 'same key, same resource');

    const ls = await cli.run(['resources', 'ls', '--label', 'team=a'], { env });
    assert.match(ls.stdout, /^NAME\s+KIND\s+STATE/m);
    assert.match(ls.stdout, /notes\s+sqlite\s+ready/);
    const shown = await cli.run(['resources', 'env'], { env });
    assert.match(shown.stdout, /^NOTES_SQLITE_PATH=\//m);

    const suspended = jsonOf<Resource>(await cli.run(['resources', 'suspend', 'notes', '--json'], { env }));
    assert.equal(suspended.state, 'suspended');
    const used = await cli.run(['resources', 'use', 'notes', '--json'], { env });
    assert.equal(jsonOf<{ resource: Resource }>(used).resource.state, 'ready', 'use resumes');

    const removed = jsonOf<Resource>(await cli.run(['resources', 'rm', 'notes', '--json'], { env }));
    assert.equal(removed.state, 'destroying');
    const history = await cli.run(['resources', 'history', made.id], { env });
    assert.match(history.stdout, /suspended\s+ready\s+resumed on use/);
    assert.match(history.stdout, /ready\s+destroying\s+destroy requested/);
  });

  void it('exits with the code of the error: unpriced kind, bad name, destroy twice', async () => {
    const unpriced = await cli.run(['resources', 'add', 'sandbox', 'box', '--json'], { env });
    assert.equal(unpriced.code, EXIT.budget);
    assert.match(unpriced.stdout + unpriced.stderr, /E_NO_PRICE/);
    const badName = await cli.run(['resources', 'add', 'sqlite', "x';drop", '--json'], { env });
    assert.equal(badName.code, EXIT.usage);
    assert.match(badName.stdout + badName.stderr, /E_INVALID_RESOURCE_NAME/);
    const made = jsonOf<Resource>(await cli.run(['resources', 'add', 'sqlite', 'temp', '--json'], { env }));
    await cli.run(['resources', 'rm', made.id], { env });
    const again = await cli.run(['resources', 'rm', made.id, '--json'], { env });
    assert.equal(again.code, EXIT.conflict);
    assert.match(again.stdout + again.stderr, /E_RESOURCE_STATE/);
  });
});
