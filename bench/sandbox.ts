// bench/sandbox.ts — sandbox cold start: create + `exec true` + destroy, p50/p95, side by side in
// one run: Strata's bubblewrap driver (ephemeral: tmpfs workspace, cgroup, namespaces), Strata's
// process driver (no isolation), a bare `spawn('true')` (the floor), and Anthropic's sandbox
// runtime (`@anthropic-ai/sandbox-runtime`, library mode: initialize once, then wrapWithSandbox +
// spawn per command) in its default configuration and in its documented faster one
// (`mandatoryDenySearchDepth: 1`, the knob its README gives for speed). Then 100 bubblewrap
// sandboxes at once (create, exec, destroy), counting errors.
//
// `BENCH_SANDBOX_N` sets the iterations per row (default 60, after 5 warm-up rounds).
import type * as SrtNamespace from '@anthropic-ai/sandbox-runtime';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BubblewrapDriver } from '../src/compute/drivers/bubblewrap/index.ts';
import { ProcessDriver } from '../src/compute/drivers/process/index.ts';
import { SandboxManager } from '../src/compute/sandbox/manager.ts';
import type { SandboxDriver } from '../src/compute/sandbox/types.ts';
import { percentile, round, table } from './_util.ts';

type SrtModule = typeof SrtNamespace;

const N = Number(process.env['BENCH_SANDBOX_N'] ?? 60);
const WARMUP = 5;
const CONCURRENT = 100;

interface Row {
  readonly name: string;
  readonly p50: number;
  readonly p95: number;
  readonly note: string;
}

async function measure(fn: () => Promise<void>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

function waitExit(
  file: string,
  args: readonly string[],
  options: { shell?: boolean; cwd?: string } = {},
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { stdio: 'ignore', ...options });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

/** Mean create / exec / destroy split of the last measured Strata row. */
const phases = { create: 0, exec: 0, destroy: 0, n: 0 };

async function strataRow(
  name: string,
  driver: SandboxDriver,
  dataDir: string,
): Promise<Row & { manager: SandboxManager }> {
  const manager = await SandboxManager.open({ dataDir, drivers: [driver] });
  const { p50, p95 } = await measure(async () => {
    const t0 = performance.now();
    const box = await manager.create({ kind: 'ephemeral' });
    const t1 = performance.now();
    const result = await box.exec(['true']);
    const t2 = performance.now();
    if (result.exitCode !== 0)
      throw new Error(`${name}: exec true exited ${result.exitCode}: ${result.stderr}`);
    await box.destroy();
    phases.create += t1 - t0;
    phases.exec += t2 - t1;
    phases.destroy += performance.now() - t2;
    phases.n++;
  });
  return { name, p50, p95, note: '', manager };
}

async function srtRows(): Promise<{ rows: Row[]; initMs: number[]; error?: string }> {
  let srt: SrtModule;
  try {
    srt = await import('@anthropic-ai/sandbox-runtime');
  } catch (error) {
    return {
      rows: [],
      initMs: [],
      error: `cannot load @anthropic-ai/sandbox-runtime: ${(error as Error).message}`,
    };
  }
  const { SandboxManager: Srt } = srt;
  const cwd = mkdtempSync(join(tmpdir(), 'strata-bench-srt-'));
  const rows: Row[] = [];
  const initMs: number[] = [];
  const home = process.cwd();
  process.chdir(cwd);
  const configs = [
    { name: 'sandbox-runtime (default)', extra: {} },
    { name: 'sandbox-runtime (mandatoryDenySearchDepth 1)', extra: { mandatoryDenySearchDepth: 1 } },
  ];
  try {
    for (const { name, extra } of configs) {
      const started = performance.now();
      await Srt.initialize({
        network: { allowedDomains: [], deniedDomains: [] },
        // The writable directory is a fresh temp dir (the sandbox's workspace): srt plants empty
        // placeholder files for "dangerous" names (.bashrc, .gitconfig, …) in writable directories.
        filesystem: { denyRead: [], allowWrite: [cwd], denyWrite: [] },
        ...extra,
      });
      initMs.push(performance.now() - started);
      const { p50, p95 } = await measure(async () => {
        const wrapped = await Srt.wrapWithSandbox('true');
        const code = await waitExit(wrapped, [], { shell: true, cwd });
        if (code !== 0) throw new Error(`${name}: wrapped true exited ${code}`);
      });
      rows.push({ name, p50, p95, note: `+ ${round(initMs.at(-1) ?? 0, 0)} ms one-time initialize` });
      await Srt.reset();
    }
    return { rows, initMs };
  } catch (error) {
    return { rows, initMs, error: `sandbox-runtime failed: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    process.chdir(home);
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function concurrent(
  manager: SandboxManager,
): Promise<{ ms: number; errors: number; firstError?: string }> {
  const started = performance.now();
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, i) => {
      try {
        const box = await manager.create({ kind: 'ephemeral' });
        const result = await box.exec(`echo ${i}`);
        await box.destroy();
        if (result.stdout !== `${i}\n`) errors.push(`sandbox ${i}: ${JSON.stringify(result)}`);
      } catch (error) {
        errors.push(`sandbox ${i}: ${(error as Error).message}`);
      }
    }),
  );
  return { ms: performance.now() - started, errors: errors.length, firstError: errors[0] };
}

const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-sbx-'));
try {
  const bwrap = await strataRow(
    'strata bubblewrap (ephemeral)',
    new BubblewrapDriver({ stateDir: join(dataDir, 'bwrap-state') }),
    join(dataDir, 'bwrap'),
  );
  const split = {
    create: phases.create / phases.n,
    exec: phases.exec / phases.n,
    destroy: phases.destroy / phases.n,
  };
  // The floor under the bubblewrap driver: bwrap itself, same namespaces, no Strata around it.
  const bareBwrap = await measure(async () => {
    const code = await waitExit('bwrap', [
      '--unshare-all',
      '--unshare-user',
      '--die-with-parent',
      '--new-session',
      '--ro-bind',
      '/usr',
      '/usr',
      ...['bin', 'lib', 'lib64'].flatMap((dir) => ['--symlink', `usr/${dir}`, `/${dir}`]),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      'true',
    ]);
    if (code !== 0) throw new Error(`bare bwrap exited ${code}`);
  });
  const proc = await strataRow(
    'strata process (no isolation)',
    new ProcessDriver({ allowInsecure: true }),
    join(dataDir, 'proc'),
  );
  await proc.manager.close();
  const bare = await measure(async () => {
    await waitExit('true', []);
  });
  const srt = await srtRows();
  const many = await concurrent(bwrap.manager);
  await bwrap.manager.close();

  const rows: Row[] = [
    { ...bwrap, note: 'create + exec true + destroy' },
    { ...proc, note: 'same, plain child process' },
    { name: 'bare bwrap true', ...bareBwrap, note: 'floor of the bubblewrap driver' },
    { name: 'bare spawn(true)', ...bare, note: 'floor: one process' },
    ...srt.rows,
  ];
  process.stdout.write(`sandbox cold start, ${N} iterations each (2 cores shared)\n\n`);
  process.stdout.write(
    `${table([['', 'p50 ms', 'p95 ms', 'note'], ...rows.map((r) => [r.name, round(r.p50, 1), round(r.p95, 1), r.note])])}\n\n`,
  );
  process.stdout.write(
    `bubblewrap row split (mean ms): create ${round(split.create, 1)}, exec ${round(split.exec, 1)}, destroy ${round(split.destroy, 1)}\n`,
  );
  if (srt.error) process.stdout.write(`sandbox-runtime: ${srt.error}\n`);
  const best = srt.rows.reduce<Row | undefined>(
    (b, r) => (b === undefined || r.p50 < b.p50 ? r : b),
    undefined,
  );
  const ratio = best ? best.p50 / bwrap.p50 : null;
  if (ratio !== null)
    process.stdout.write(`bubblewrap vs sandbox-runtime (best row): ${round(ratio, 1)}× faster at p50\n`);
  process.stdout.write(
    `${CONCURRENT} concurrent bubblewrap sandboxes (create, exec, destroy): ${round(many.ms, 0)} ms, ${many.errors} errors${many.firstError ? ` (first: ${many.firstError})` : ''}\n`,
  );
  const srtDefault = srt.rows[0];
  const srtBest = srt.rows[1];
  process.stdout.write(
    `${JSON.stringify({
      bench: 'sandbox',
      iterations: N,
      bwrap_p50_ms: round(bwrap.p50),
      bwrap_p95_ms: round(bwrap.p95),
      process_p50_ms: round(proc.p50),
      process_p95_ms: round(proc.p95),
      bwrap_split_ms: { create: round(split.create), exec: round(split.exec), destroy: round(split.destroy) },
      bare_bwrap_p50_ms: round(bareBwrap.p50),
      bare_bwrap_p95_ms: round(bareBwrap.p95),
      spawn_p50_ms: round(bare.p50),
      spawn_p95_ms: round(bare.p95),
      srt_default_p50_ms: srtDefault ? round(srtDefault.p50) : null,
      srt_default_p95_ms: srtDefault ? round(srtDefault.p95) : null,
      srt_best_p50_ms: srtBest ? round(srtBest.p50) : null,
      srt_best_p95_ms: srtBest ? round(srtBest.p95) : null,
      srt_init_ms: srt.initMs.map((ms) => round(ms, 0)),
      srt_error: srt.error ?? null,
      ratio_vs_srt: ratio === null ? null : round(ratio, 2),
      concurrent: CONCURRENT,
      concurrent_ms: round(many.ms, 0),
      concurrent_errors: many.errors,
    })}\n`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
