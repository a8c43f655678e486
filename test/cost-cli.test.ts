// `strata cost` end to end: a real `strata up` with a scripted, priced model and a task (project
// alpha) whose first child fails and is started again. The CLI's tree total equals the runs' own
// cost counters, the waste equals the failed child's, and --json, --csv and the table agree;
// a bad group or limit exits with the syscall's stable code.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startUp, type CliResult, type RunningServer } from '../src/cli/testing.ts';
import { EXIT } from '../src/kernel/index.ts';
import type { CostReport, Run } from '../src/orchestration/index.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-cost-cli-'));
const configFile = join(dataDir, 'strata.config.json');
let server: RunningServer;

before(async () => {
  writeFileSync(
    configFile,
    JSON.stringify({
      models: {
        providers: [
          {
            name: 'local',
            driver: 'scripted',
            models: ['tiny'],
            script: Array.from({ length: 10 }, () => ({ text: 'here is the patch' })),
          },
        ],
        prices: { 'local/tiny': { input: 3, output: 7 } },
      },
    }),
  );
  server = await startUp(dataDir, ['--config', configFile, '--workflows', 'test/fixtures/cost-cli.ts']);
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (args: readonly string[], json = true): Promise<CliResult> =>
  runCli([
    '--data-dir',
    dataDir,
    '--config',
    configFile,
    ...args,
    '--url',
    server.started.url,
    ...(json ? ['--json'] : []),
  ]);

const json = async <T>(args: readonly string[]): Promise<T> => {
  const result = await cli(args);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return JSON.parse(result.stdout) as T;
};

test('strata cost: tree total, waste of the failed child, groups, CSV, bad input', async () => {
  const root = await json<Run>(['runs', 'start', 'cost-cli.task', '--project', 'alpha']);
  let done = root;
  for (let i = 0; i < 300 && done.status !== 'completed'; i++) {
    assert.notEqual(done.status, 'failed', JSON.stringify(done.error));
    await new Promise((r) => setTimeout(r, 100));
    done = await json<Run>(['runs', 'get', root.id]);
  }
  assert.equal(done.status, 'completed');
  const children = await json<{ runs: Run[] }>(['runs', 'list', '--parent', root.id]);
  const all = [done, ...children.runs];
  const failed = children.runs.find((r) => r.status === 'failed');
  assert.equal(children.runs.length, 2, 'two children');
  assert.ok(failed && failed.costMicros > 0);
  const treeMicros = all.reduce((s, r) => s + r.costMicros, 0);

  const report = await json<CostReport>(['cost']);
  const tree = report.groups.find((g) => g.key === root.id);
  assert.deepEqual(
    [tree?.totalMicros, tree?.wasteMicros, tree?.calls, tree?.status],
    [treeMicros, failed.costMicros, 3, 'completed'],
  );
  assert.equal(report.tasks.completed, 1);
  assert.deepEqual(
    report.waste.map((w) => w.reason),
    ['failed_run'],
  );
  const byModel = await json<CostReport>(['cost', '--by', 'model', '--project', 'alpha', '--since', '1h']);
  assert.deepEqual(
    byModel.groups.map((g) => [g.key, g.totalMicros]),
    [['local/tiny', treeMicros]],
  );
  assert.equal((await json<CostReport>(['cost', '--root', 'run_none'])).totals.calls, 0);

  const csv = await cli(['cost', '--csv'], false);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trimEnd().split('\r\n');
  assert.equal(lines[0], 'key,workflow,status,total,committed,waste,calls,waste_calls,currency');
  const line = lines.find((l) => l.startsWith(`${root.id},`))?.split(',');
  assert.deepEqual(line?.slice(1, 3), ['cost-cli.task', 'completed']);
  assert.equal(line?.[5], tree?.waste);

  const text = await cli(['cost', '--by', 'agent'], false);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^AGENT +TOTAL +COMMITTED +WASTE +CALLS$/m);
  assert.match(text.stdout, /^waste: failed_run /m);
  assert.match(text.stdout, /^completed tasks: 1, /m);

  for (const bad of [
    ['cost', '--by', 'bogus'],
    ['cost', '--limit', '-1'],
  ]) {
    const refused = await cli(bad);
    assert.equal(refused.code, EXIT.usage, refused.stdout);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'E_INVALID_INPUT');
  }
});
