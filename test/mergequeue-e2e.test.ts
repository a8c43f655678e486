/**
 * End to end (issue 13): a real Node project in a bare git repository created here, 20 agents'
 * changes submitted through the `mq.*` syscalls, `node --test` as the check, run in bubblewrap
 * sandboxes. 3 changes break the tests and 2 conflict with a change ahead of them. At the end main
 * holds exactly the 15 good changes and passes its tests, the 3 culprits are rejected with their
 * failing log, the 2 conflicts went to rework with the conflicting file, and every commit on
 * main's first-parent history is a commit the queue checked and saw pass.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSandboxes, type SandboxManager } from '../src/compute/index.ts';
import { Kernel, type Principal } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { MergeQueues, mergeQueueSyscalls, sandboxRunner, type ReworkEvent } from '../src/mergequeue/index.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';

type Entry = { id: string; state: string; branch: string; conflictFiles: string[] | null };

const CULPRITS = new Set([4, 11, 17]);
const CONFLICTS = new Set([7, 15]); // both edit the line change 2 edits

const feature = (n: number): Record<string, string> => ({
  [`src/feature-${n}.js`]: `export const feature${n} = (x) => x * ${n};\n`,
  [`test/feature-${n}.test.js`]:
    `import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n` +
    `import { feature${n} } from '../src/feature-${n}.js';\n` +
    `test('feature ${n} multiplies', () => assert.equal(feature${n}(2), ${CULPRITS.has(n) ? n * 2 + 1 : n * 2}));\n`,
});

void describe('merge queue end to end: 20 changes, node --test in bubblewrap', () => {
  let fx: Fixture;
  let kernel: Kernel;
  let queues: MergeQueues;
  let sandboxes: SandboxManager;
  let admin: Principal;
  let tenantId: string;
  const reworks: ReworkEvent[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-e2e-'));

  before(async () => {
    fx = createFixture({
      'package.json': '{ "name": "app", "type": "module", "private": true }\n',
      'src/config.js': 'export const greeting = "hello";\nexport const limit = 10;\n',
      'test/config.test.js':
        "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n" +
        "import { limit } from '../src/config.js';\ntest('limit is positive', () => assert.ok(limit > 0));\n",
    });
    const store = await createSqliteStore({ path: join(dataDir, 'strata.db') });
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    sandboxes = await openSandboxes({ dataDir });
    queues = await MergeQueues.open({
      store,
      runner: sandboxRunner(sandboxes),
      allowedRoots: [fx.allowedRoot],
      concurrency: 2,
      onRework: (event) => void reworks.push(event),
    });
    for (const d of mergeQueueSyscalls(queues)) kernel.register(d);
    tenantId = (await kernel.principals.createTenant('e2e')).id;
    const { key } = await kernel.principals.createApiKey({
      tenantId,
      name: 'admin',
      grants: [{ syscall: 'mq.*', resource: 'mq/app' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await queues.close();
    await sandboxes.close();
    await kernel.close();
    fx.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const call = <T>(name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal: admin });

  it(
    'main ends green with the 15 good changes; culprits rejected with logs; conflicts to rework',
    { timeout: 600_000 },
    async () => {
      await call('mq.configure', {
        queue: 'app',
        repository: fx.bare,
        target: 'main',
        check: { command: 'node --test', timeoutMs: 60_000, runtimes: ['sh', 'node'] },
        batch: { min: 1, max: 4 },
      });
      const ids = new Map<number, string>();
      for (let n = 1; n <= 20; n++) {
        const files = feature(n);
        if (n === 2) files['src/config.js'] = 'export const greeting = "hello";\nexport const limit = 20;\n';
        if (CONFLICTS.has(n))
          files['src/config.js'] = `export const greeting = "hello";\nexport const limit = ${n * 100};\n`;
        fx.branch(`agent-${n}/feature`, files);
        const entry = await call<Entry>('mq.submit', {
          queue: 'app',
          branch: `agent-${n}/feature`,
          author: `agent-${n}`,
        });
        ids.set(n, entry.id);
      }
      const started = Date.now();
      await queues.idle(tenantId, 'app');
      const elapsed = Date.now() - started;

      const { entries } = await call<{ entries: Entry[] }>('mq.list', { queue: 'app' });
      const stateOf = (n: number) => entries.find((e) => e.id === ids.get(n))?.state;
      for (let n = 1; n <= 20; n++) {
        const expected = CULPRITS.has(n) ? 'rejected' : CONFLICTS.has(n) ? 'needs_rework' : 'merged';
        assert.equal(stateOf(n), expected, `change ${n}`);
      }
      for (const n of CULPRITS) {
        const shown = await call<{ failingLog: string }>('mq.show', { queue: 'app', id: ids.get(n) });
        assert.match(shown.failingLog, new RegExp(`✖ feature ${n} multiplies`), `log of culprit ${n}`);
      }
      for (const n of CONFLICTS) {
        const entry = entries.find((e) => e.id === ids.get(n));
        assert.deepEqual(entry?.conflictFiles, ['src/config.js']);
        assert.ok(reworks.some((r) => r.entry === ids.get(n) && r.author === `agent-${n}`));
      }

      // main: the 15 good changes, green, and only checked commits on its first-parent history.
      const tree = git(fx.bare, 'ls-tree', '-r', '--name-only', 'main').split('\n');
      const merged = [...Array(20).keys()]
        .map((i) => i + 1)
        .filter((n) => !CULPRITS.has(n) && !CONFLICTS.has(n));
      assert.deepEqual(
        tree.filter((f) => f.startsWith('src/feature-')).sort(),
        merged.map((n) => `src/feature-${n}.js`).sort(),
      );
      assert.equal(git(fx.bare, 'show', 'main:src/config.js').includes('limit = 20'), true);
      const checks = await queues.rows.checks(tenantId, 'app');
      const passed = new Set(checks.filter((c) => c.outcome === 'pass').map((c) => c.commit));
      const history = fx.mainLog();
      const initial = history.at(-1);
      for (const commit of history.slice(0, -1))
        assert.ok(passed.has(commit), `${commit} on main was not checked`);
      const out = join(dataDir, 'main-tree');
      mkdirSync(out);
      execFileSync('sh', ['-c', `git -C ${fx.bare} archive main | tar -x -C ${out}`]);
      execFileSync(process.execPath, ['--test'], { cwd: out, stdio: 'pipe' }); // throws if main is red
      const stats = await call<Record<string, unknown>>('mq.stats', { queue: 'app' });
      process.stdout.write(
        `${JSON.stringify({ e2e: 'mergequeue', changes: 20, checks: checks.length, main_commits: history.length - 1, initial, elapsed_ms: elapsed, checks_per_merge: stats['checksPerMerge'], bisections: stats['bisections'], max_bisection_depth: stats['maxBisectionDepth'], queue_time_ms: stats['queueTimeMs'] })}\n`,
      );
    },
  );
});
