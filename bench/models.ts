// bench/models.ts — what the models layer costs per call, against calling the same local server
// (speaking the OpenAI Chat Completions wire format on 127.0.0.1) directly with the official SDK:
//   direct SDK call → ModelService.generate (routing, limiter, pricing, response checks) →
//   the `model.generate` syscall (plus capability check, audit entry, metering; SQLite store);
// and streaming time to first token, direct vs through the service.
// Sizes: BENCH_CALLS (default 400).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Kernel } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { ModelService, modelSyscalls, parseModelsConfig } from '../src/models/index.ts';
import { startOpenAIWireServer } from '../test/fixtures/model-wire-servers.ts';
import { percentile, round, table } from './_util.ts';

const CALLS = Number(process.env['BENCH_CALLS'] ?? 400);
const server = await startOpenAIWireServer();
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Summarise the plot of Hamlet in one line.' },
];

async function timed(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number; perS: number }> {
  for (let i = 0; i < 30; i++) await fn(); // warm up connections and JIT
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  const elapsed = performance.now() - t0;
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), perS: CALLS / (elapsed / 1000) };
}

/** Time from asking to the first text piece, request round trip included. */
async function firstToken(
  open: () => Promise<AsyncIterable<unknown>> | AsyncIterable<unknown>,
  isText: (x: unknown) => boolean,
): Promise<number> {
  const s = performance.now();
  let at = NaN;
  for await (const piece of await open()) if (Number.isNaN(at) && isText(piece)) at = performance.now() - s;
  return at;
}

const direct = new OpenAI({ apiKey: 'sk-bench', baseURL: `${server.url}/v1`, maxRetries: 0 });
const config = parseModelsConfig({
  providers: [
    {
      name: 'local',
      driver: 'openai-compatible',
      baseUrl: `${server.url}/v1`,
      apiKeyEnv: 'BENCH_KEY',
      models: ['m'],
    },
  ],
  prices: { 'local/m': { input: 1, output: 2 } },
});
const service = new ModelService({ config, env: { BENCH_KEY: 'sk-bench' } });
const dir = mkdtempSync(join(tmpdir(), 'strata-bench-models-'));
const store = await createSqliteStore({ path: join(dir, 'bench.db') });
const kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
for (const d of modelSyscalls(service)) kernel.register(d);
const tenant = await kernel.principals.createTenant('bench');
const { key } = await kernel.principals.createApiKey({
  tenantId: tenant.id,
  name: 'bench',
  grants: [{ syscall: 'model.*', resource: 'models/*' }],
});
const principal = await kernel.authenticate({ apiKey: key });

const sdk = await timed(() => direct.chat.completions.create({ model: 'm', messages }));
const layer = await timed(() => service.generate({ model: 'local/m', messages }, { tenantId: tenant.id }));
const syscall = await timed(() =>
  kernel.call('model.generate', { model: 'local/m', messages }, { principal }),
);

const ttft = { direct: [] as number[], layer: [] as number[] };
for (let i = 0; i < Math.min(CALLS, 200); i++) {
  server.queue({ kind: 'text', text: 'Hamlet hesitates, everyone dies, Fortinbras tidies up.' });
  ttft.direct.push(
    await firstToken(
      () => direct.chat.completions.create({ model: 'm', messages, stream: true }),
      (c) => Boolean((c as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content),
    ),
  );
  server.queue({ kind: 'text', text: 'Hamlet hesitates, everyone dies, Fortinbras tidies up.' });
  ttft.layer.push(
    await firstToken(
      () => service.stream({ model: 'local/m', messages }, { tenantId: tenant.id }),
      (d) => (d as { type: string }).type === 'text',
    ),
  );
}
ttft.direct.sort((a, b) => a - b);
ttft.layer.sort((a, b) => a - b);
const ttftDirect = percentile(ttft.direct, 50);
const ttftLayer = percentile(ttft.layer, 50);

await kernel.close();
rmSync(dir, { recursive: true, force: true });
await server.close();

process.stdout.write(
  `\nmodels: ${CALLS} sequential calls to a local OpenAI-wire server (127.0.0.1), p50/p95 in ms\n\n` +
    table([
      ['path', 'p50 ms', 'p95 ms', 'calls/s', 'p50 overhead ms', '÷ direct'],
      ['direct (openai SDK)', sdk.p50, sdk.p95, sdk.perS, '-', '-'],
      [
        'ModelService.generate',
        layer.p50,
        layer.p95,
        layer.perS,
        layer.p50 - sdk.p50,
        round(layer.p50 / sdk.p50, 2),
      ],
      [
        'model.generate syscall',
        syscall.p50,
        syscall.p95,
        syscall.perS,
        syscall.p50 - sdk.p50,
        round(syscall.p50 / sdk.p50, 2),
      ],
    ]) +
    `\n\nstreaming time to first token, p50: direct ${round(ttftDirect, 3)} ms, through the service ${round(ttftLayer, 3)} ms (+${round(ttftLayer - ttftDirect, 3)} ms)\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'models',
    calls: CALLS,
    direct_p50_ms: round(sdk.p50, 3),
    service_p50_ms: round(layer.p50, 3),
    syscall_p50_ms: round(syscall.p50, 3),
    service_overhead_p50_ms: round(layer.p50 - sdk.p50, 3),
    syscall_overhead_p50_ms: round(syscall.p50 - sdk.p50, 3),
    ratio_service_vs_direct: round(layer.p50 / sdk.p50, 3),
    ratio_syscall_vs_direct: round(syscall.p50 / sdk.p50, 3),
    ttft_direct_p50_ms: round(ttftDirect, 3),
    ttft_service_p50_ms: round(ttftLayer, 3),
    ttft_overhead_p50_ms: round(ttftLayer - ttftDirect, 3),
  }) + '\n',
);
