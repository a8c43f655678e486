// `strata fleet tree` end to end: a real `strata up --workflows <fixture>` running a supervisor,
// and the CLI showing its tree (text and --json) before and after a child restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jsonOf, runCli, startUp, type RunningServer } from '../src/cli/testing.ts';
import type { Run, TreeNode } from '../src/orchestration/index.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-fleet-'));
let server: RunningServer;

before(async () => {
  server = await startUp(dataDir, ['--workflows', 'test/fixtures/supervision-fleet.ts']);
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = async (args: readonly string[], json = true): Promise<string> => {
  const result = await runCli([
    '--data-dir',
    dataDir,
    ...args,
    '--url',
    server.started.url,
    ...(json ? ['--json'] : []),
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return result.stdout;
};

async function treeUntil(runId: string, ready: (t: TreeNode) => boolean): Promise<TreeNode> {
  for (let i = 0; i < 100; i++) {
    const { trees } = jsonOf<{ trees: TreeNode[] }>({
      code: 0,
      stdout: await cli(['fleet', 'tree', runId]),
      stderr: '',
    });
    if (trees[0] && ready(trees[0])) return trees[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the tree never got ready');
}

test('strata fleet tree shows supervisor, children, status, incarnation and restarts', async () => {
  const sup = JSON.parse(await cli(['runs', 'start', 'fleet-cli.team'])) as Run;
  const ready = (inc: number) => (t: TreeNode) =>
    t.children.length === 2 &&
    t.children.every((c) => c.status === 'waiting') &&
    t.children[1]?.incarnation === inc;
  const first = await treeUntil(sup.id, ready(1));
  assert.equal(first.strategy, 'one_for_one');
  await cli(['runs', 'signal', first.children[1]?.runId ?? '', 'finish', '--payload', '{"mode":"fail"}']);
  const second = await treeUntil(sup.id, ready(2));
  assert.deepEqual(
    second.children.map((c) => [c.childId, c.incarnation, c.restarts]),
    [
      ['planner', 1, 0],
      ['coder', 2, 1],
    ],
  );
  const text = await cli(['fleet', 'tree', sup.id], false);
  assert.match(text, new RegExp(`^\\(root\\)  ${sup.id}  fleet-cli.team  waiting  one_for_one`, 'm'));
  assert.match(
    text,
    /^ {2}└ coder {2}run_\S+ {2}fleet-cli\.agent {2}waiting {2}incarnation 2 {2}restarts 1$/m,
  );
  const all = JSON.parse(await cli(['fleet', 'tree'])) as { trees: TreeNode[] };
  assert.ok(
    all.trees.some((t) => t.runId === sup.id),
    'listed among the running root supervisors',
  );
});
