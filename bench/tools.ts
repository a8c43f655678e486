// bench/tools.ts — the MCP gateway's overhead per call: the same tool (`add` of the SDK fixture
// server, stdio) called directly with the official SDK client, and through Strata's `tools.call`
// syscall (capability check, JSON Schema validation, rate-limit check, the gateway's own SDK
// client, output-schema check, metering, audit entry committed to SQLite, trace span). Also the
// layer alone (no syscall pipeline) to show where the time goes, and calls/s with concurrency.
//
// The peer is the SDK client in its default configuration (after `listTools`, so it validates
// structured output, as most clients do) and without output validation (never listing tools: its
// fastest documented use). Both talk to their own fixture process, so neither waits for the other.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Kernel } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { attachTools, ToolsLayer, toolsSyscalls } from '../src/tools/index.ts';
import { percentile, round, table } from './_util.ts';

const N = Number(process.env['BENCH_TOOLS_N'] ?? 3000);
const CONCURRENCY = 16;
const FIXTURE = fileURLToPath(new URL('../test/fixtures/mcp-fixture/stdio.ts', import.meta.url));

interface Figures {
  p50Us: number;
  p99Us: number;
  callsPerS: number;
}

async function measure(call: (i: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < 300; i++) await call(i);
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await call(i);
    samples.push((performance.now() - t0) * 1000);
  }
  const elapsed = performance.now() - started;
  samples.sort((a, b) => a - b);
  return { p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), callsPerS: N / (elapsed / 1000) };
}

async function concurrent(call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) await call(next++);
    }),
  );
  return N / ((performance.now() - started) / 1000);
}

async function sdkClient(validate: boolean): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [FIXTURE], stderr: 'ignore' }),
  );
  if (validate) await client.listTools();
  return client;
}

const check = (result: unknown, i: number): void => {
  const sum = (result as { structuredContent?: { sum?: number } }).structuredContent?.sum;
  if (sum !== i + 1) throw new Error(`wrong answer ${String(sum)} for ${i}`);
};

// Direct: the SDK client, default (validating) and without output validation.
const direct = await sdkClient(true);
const directFigures = await measure(async (i) =>
  check(await direct.callTool({ name: 'add', arguments: { a: i, b: 1 } }), i),
);
const directConcurrent = await concurrent(async (i) =>
  check(await direct.callTool({ name: 'add', arguments: { a: i, b: 1 } }), i),
);
await direct.close();
const bare = await sdkClient(false);
const bareFigures = await measure(async (i) =>
  check(await bare.callTool({ name: 'add', arguments: { a: i, b: 1 } }), i),
);
await bare.close();

// Through Strata.
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-tools-'));
const store = await createSqliteStore({ path: join(dir, 'bench.db') });
const masterKey = randomBytes(32);
const kernel = await Kernel.open({ store, masterKey });
const tools = await ToolsLayer.open({ store, masterKey });
for (const definition of toolsSyscalls(tools)) kernel.register(definition);
attachTools(kernel, tools);
const tenant = await kernel.principals.createTenant('bench');
const { key } = await kernel.principals.createApiKey({
  tenantId: tenant.id,
  name: 'bench',
  grants: [
    { syscall: 'tools.*', resource: 'tools/mcp/*' },
    { syscall: 'tools.call', resource: 'tools/mcp/local/*' },
  ],
});
const principal = await kernel.authenticate({ apiKey: key });
await kernel.call(
  'tools.mcp.add',
  { name: 'local', transport: 'stdio', command: process.execPath, args: [FIXTURE] },
  { principal },
);
const viaSyscall = (i: number): Promise<unknown> =>
  kernel.call('tools.call', { tool: 'mcp.local.add', arguments: { a: i, b: 1 } }, { principal });
const ctx = { tenantId: tenant.id, principalId: principal.id, signal: new AbortController().signal };
const layerFigures = await measure(async (i) =>
  check((await tools.call('mcp.local.add', { a: i, b: 1 }, ctx)).result, i),
);
const gatewayFigures = await measure(async (i) => check(await viaSyscall(i), i));
const gatewayConcurrent = await concurrent(async (i) => check(await viaSyscall(i), i));
const audited = await kernel.audit.verify(tenant.id);
await tools.close();
await kernel.close();
rmSync(dir, { recursive: true, force: true });

const overheadP50 = gatewayFigures.p50Us - directFigures.p50Us;
const layerOverheadP50 = layerFigures.p50Us - directFigures.p50Us;
const ratio = gatewayFigures.p50Us / directFigures.p50Us;
process.stdout.write(
  `\nMCP tool call (fixture \`add\`, stdio), ${N} sequential calls each; concurrent: ${CONCURRENCY} callers\n\n` +
    table([
      ['path', 'p50 µs', 'p99 µs', 'calls/s (1 caller)', `calls/s (${CONCURRENCY} callers)`],
      [
        'SDK client direct (default: output validated)',
        directFigures.p50Us,
        directFigures.p99Us,
        directFigures.callsPerS,
        directConcurrent,
      ],
      [
        'SDK client direct (no output validation)',
        bareFigures.p50Us,
        bareFigures.p99Us,
        bareFigures.callsPerS,
        '-',
      ],
      [
        'tools layer only (no syscall pipeline)',
        layerFigures.p50Us,
        layerFigures.p99Us,
        layerFigures.callsPerS,
        '-',
      ],
      [
        'Strata tools.call (full pipeline, audited)',
        gatewayFigures.p50Us,
        gatewayFigures.p99Us,
        gatewayFigures.callsPerS,
        gatewayConcurrent,
      ],
    ]) +
    `\n\ngateway overhead p50: ${round(overheadP50, 1)} µs (layer alone ${round(layerOverheadP50, 1)} µs); ratio ${round(ratio, 2)}x\n` +
    `audit chain: ${audited.entries} entries ok=${audited.ok}\n` +
    `target: overhead p50 < 1 ms → ${overheadP50 < 1000 ? 'met' : 'NOT met'}\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'tools',
    calls: N,
    direct_p50_us: round(directFigures.p50Us, 1),
    direct_no_validation_p50_us: round(bareFigures.p50Us, 1),
    gateway_p50_us: round(gatewayFigures.p50Us, 1),
    gateway_p99_us: round(gatewayFigures.p99Us, 1),
    overhead_p50_us: round(overheadP50, 1),
    layer_overhead_p50_us: round(layerOverheadP50, 1),
    ratio_vs_sdk_direct: round(ratio, 3),
    gateway_calls_per_s: round(gatewayFigures.callsPerS, 0),
    gateway_concurrent_calls_per_s: round(gatewayConcurrent, 0),
    direct_concurrent_calls_per_s: round(directConcurrent, 0),
    target_met: overheadP50 < 1000,
  }) + '\n',
);
