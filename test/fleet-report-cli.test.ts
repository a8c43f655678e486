// `strata fleet report` and the fleet gauges on /metrics end to end: a real `strata up` running a
// supervisor whose child fails once; the CLI (--json and text, --since) and a scrape of /metrics
// both show the restart, a failed syscall and no duplicate work; `strata fleet reliability` reads
// the reliability report.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startUp, type CliResult, type RunningServer } from '../src/cli/testing.ts';
import type { FleetReport, ReliabilityReport, Run, TreeNode } from '../src/orchestration/index.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-fleet-report-'));
let server: RunningServer;

before(async () => {
  server = await startUp(dataDir, ['--workflows', 'test/fixtures/supervision-fleet.ts']);
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = async (args: readonly string[], json = true): Promise<CliResult> =>
  runCli(['--data-dir', dataDir, ...args, '--url', server.started.url, ...(json ? ['--json'] : [])]);

const json = async <T>(args: readonly string[]): Promise<T> => {
  const result = await cli(args);
  assert.equal(result.code, 0, result.stdout);
  return JSON.parse(result.stdout) as T;
};

async function coderAt(runId: string, incarnation: number): Promise<TreeNode> {
  for (let i = 0; i < 100; i++) {
    const { trees } = await json<{ trees: TreeNode[] }>(['fleet', 'tree', runId]);
    const coder = trees[0]?.children.find((c) => c.childId === 'coder');
    if (coder?.incarnation === incarnation && coder.status === 'waiting') return coder;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`coder never reached incarnation ${incarnation}`);
}

test('strata fleet report and /metrics count a restart and a failed syscall', async () => {
  const sup = await json<Run>(['runs', 'start', 'fleet-cli.team']);
  const first = await coderAt(sup.id, 1);
  await json(['runs', 'signal', first.runId, 'finish', '--payload', '{"mode":"fail"}']);
  await coderAt(sup.id, 2);
  assert.notEqual((await cli(['fleet', 'tree', 'run_missing'])).code, 0, 'an unknown run fails');

  const report = await json<FleetReport>(['fleet', 'report']);
  assert.equal(report.restarts.total, 1);
  assert.equal(report.restarts.bySupervisor[0]?.supervisorRunId, sup.id);
  assert.equal(report.duplicateWork.total, 0);
  assert.equal(report.syscalls.find((s) => s.layer === 'fleet')?.failed, 1);
  assert.equal(report.deaths.detected, 0);

  const recent = await json<FleetReport>(['fleet', 'report', '--since', '1h']);
  assert.equal(recent.restarts.total, 1);
  const text = await cli(['fleet', 'report'], false);
  assert.match(text.stdout, /^restarts +1$/m);
  assert.match(text.stdout, /^duplicate work +0$/m);

  const metrics = await (await fetch(`${server.started.url}/metrics`)).text();
  assert.match(metrics, /^strata_fleet_restarts 1$/m);
  assert.match(metrics, /^strata_fleet_duplicate_work 0$/m);
  assert.match(metrics, /^strata_fleet_deaths 0$/m);

  // The task board through the CLI: empty here (tasks are created and claimed by runs).
  assert.deepEqual(await json<{ tasks: unknown[] }>(['fleet', 'tasks']), { tasks: [] });
  assert.match((await cli(['fleet', 'tasks'], false)).stdout, /^no tasks$/m);
  assert.deepEqual(await json<{ pauses: unknown[] }>(['fleet', 'pauses', '--status', 'all']), { pauses: [] });
  assert.match((await cli(['fleet', 'pauses'], false)).stdout, /^no budget pauses$/m);
  assert.notEqual((await cli(['fleet', 'pauses', '--status', 'sleeping'])).code, 0, 'a bad status fails');
  assert.match(metrics, /^strata_fleet_syscalls\{layer="fleet",outcome="failed"\} 1$/m);

  // The reliability report: --json as the syscall returns it, the flags, the table. The restart
  // here was not caused by an injected fault, so no mechanism recovered anything.
  const rel = await json<ReliabilityReport>([
    'fleet',
    'reliability',
    '--without-mechanisms',
    '0.5',
    '--layers',
    'orchestration',
  ]);
  assert.equal(rel.endToEnd.measuredWithoutMechanisms, 0.5);
  assert.deepEqual(rel.endToEnd.layersUsed, ['orchestration']);
  assert.equal(rel.mechanisms.restart, 0);
  assert.equal(rel.invariants.auditChain.holds, true);
  assert.ok(rel.invariants.auditChain.entries > 0);
  const viaReport = await json<ReliabilityReport>(['fleet', 'report', '--reliability', '--since', '1h']);
  assert.notEqual(viaReport.sinceMs, null);
  const table = (await cli(['fleet', 'reliability'], false)).stdout;
  assert.match(table, /^layer +calls +faults +retry/m);
  assert.match(table, /^orchestration +\d+ +0 /m);
  assert.match(table, /audit chain verified +holds/);
});
