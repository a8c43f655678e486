// Part 3 of `npm run bench -- identity`: A2A SendMessage round trip (blocking, one text part, one
// artifact back) through the official SDK client. Strata's endpoint (Hono + SDK request handler +
// tasks in SQLite) vs a server made of the SDK's own parts only (DefaultRequestHandler,
// InMemoryTaskStore, JsonRpcTransportHandler on node:http, as its sample agent; Express is not a
// dependency here). Target: Strata p50 within 1.5x.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { sdkServer, serveEchoAgent, userMessage } from '../src/identity/a2a/testing.ts';
import { percentile, round } from './_util.ts';

export const A2A_TARGET = 1.5;
const WARMUP = 50;
const BATCH = 50;

interface Latency {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export interface A2aFigures {
  readonly n: number;
  readonly sdk: Latency;
  readonly strata: Latency;
  /** Strata p50 ÷ SDK p50. */
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
}

async function roundTrips(client: Client, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await client.sendMessage({
      tenant: '',
      message: userMessage(`hello ${i}`),
      configuration: undefined,
      metadata: undefined,
    });
    into.push(performance.now() - t0);
  }
}

function latency(xs: readonly number[]): Latency {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(s, 50), 3),
    p95Ms: round(percentile(s, 95), 3),
    p99Ms: round(percentile(s, 99), 3),
  };
}

export async function benchA2a(n: number): Promise<A2aFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-a2a-'));
  const store = await createSqliteStore({ path: join(dir, 'a2a.db') });
  const strata = await serveEchoAgent(store);
  const sdk = await sdkServer();
  const strataClient = await new ClientFactory().createFromUrl(`${strata.url}/a2a/echo/`);
  const sdkClient = await new ClientFactory().createFromUrl(`${sdk.url}/`);

  await roundTrips(strataClient, WARMUP, []);
  await roundTrips(sdkClient, WARMUP, []);
  const strataMs: number[] = [];
  const sdkMs: number[] = [];
  // Alternate batches so drift on a shared machine hits both sides alike.
  for (let done = 0; done < n; done += BATCH) {
    const batch = Math.min(BATCH, n - done);
    await roundTrips(sdkClient, batch, sdkMs);
    await roundTrips(strataClient, batch, strataMs);
  }
  await strata.close();
  await sdk.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const a = latency(sdkMs);
  const b = latency(strataMs);
  const ratio = b.p50Ms / a.p50Ms;
  return {
    n,
    sdk: a,
    strata: b,
    ratio: round(ratio, 3),
    target: `<= ${A2A_TARGET}`,
    met: ratio <= A2A_TARGET,
  };
}
