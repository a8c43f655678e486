// A2A SendMessage round trip (blocking, one text part, one artifact back) through the official
// SDK client: Strata's endpoint (Hono + SDK request handler + tasks in SQLite) vs a server made of
// the SDK's own parts only (DefaultRequestHandler, InMemoryTaskStore, JsonRpcTransportHandler on
// node:http, as its sample agent; Express is not a dependency here). Target: Strata p50 ≤ 1.5×.
// `npm run bench -- identity-a2a [n]`
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role, type Message } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { InProcessExecutor } from '../src/identity/a2a/executor.ts';
import { a2aRoutes } from '../src/identity/a2a/routes.ts';
import { A2aService } from '../src/identity/a2a/service.ts';
import { sdkServer, serveHono, testSigner } from '../src/identity/a2a/testing.ts';
import { percentile, round, table } from './_util.ts';

const N = Number(process.argv[2] ?? 500);
const WARMUP = 50;

const message = (i: number): Message => ({
  messageId: `m-${i}-${randomBytes(4).toString('hex')}`,
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [
    {
      content: { $case: 'text', value: `hello ${i}` },
      mediaType: 'text/plain',
      filename: '',
      metadata: undefined,
    },
  ],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

async function roundTrips(client: Client, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await client.sendMessage({
      tenant: '',
      message: message(i),
      configuration: undefined,
      metadata: undefined,
    });
    into.push(performance.now() - t0);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-a2a-'));
const store = await createSqliteStore({ path: join(dir, 'a2a.db') });
const signer = await testSigner();
const strata = await serveHono(async (url) =>
  a2aRoutes(
    await A2aService.open({
      store,
      masterKey: randomBytes(32),
      baseUrl: url,
      agents: [
        {
          card: { name: 'echo', description: 'echo', skills: [] },
          signer,
          executor: new InProcessExecutor((t) =>
            Promise.resolve({ state: 'completed', text: `sdk says: ${t.text}` }),
          ),
        },
      ],
    }),
  ),
);
const sdk = await sdkServer();
const strataClient = await new ClientFactory().createFromUrl(`${strata.url}/a2a/echo/`);
const sdkClient = await new ClientFactory().createFromUrl(`${sdk.url}/`);

await roundTrips(strataClient, WARMUP, []);
await roundTrips(sdkClient, WARMUP, []);
const strataMs: number[] = [];
const sdkMs: number[] = [];
// Alternate batches so drift on a shared machine hits both sides alike.
for (let done = 0; done < N; done += 50) {
  const batch = Math.min(50, N - done);
  await roundTrips(sdkClient, batch, sdkMs);
  await roundTrips(strataClient, batch, strataMs);
}
await strata.close();
await sdk.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
};
const a = stats(sdkMs);
const b = stats(strataMs);
const ratio = b.p50 / a.p50;
process.stdout.write(
  `${table([
    ['SendMessage round trip (SDK client)', 'p50 ms', 'p95 ms', 'p99 ms'],
    ['SDK parts on node:http, in-memory tasks', a.p50, a.p95, a.p99],
    ['Strata /a2a/echo (Hono, tasks in SQLite)', b.p50, b.p95, b.p99],
    ['ratio p50 (target <= 1.5)', ratio, '', ''],
  ])}\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'identity-a2a',
    n: N,
    sdkP50Ms: round(a.p50, 3),
    sdkP95Ms: round(a.p95, 3),
    strataP50Ms: round(b.p50, 3),
    strataP95Ms: round(b.p95, 3),
    ratioP50: round(ratio, 3),
  })}\n`,
);
