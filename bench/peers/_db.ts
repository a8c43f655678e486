// Shared by the peer runners: a fresh database per run, and waiting for a condition to hold in it.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../src/testkit/pg.ts';

/**
 * A fresh database for one peer run. With `serverUrl`, it is created on that server (any database
 * name in the URL is only used to connect); without, on the test server (`STRATA_TEST_PG_URL`).
 */
export async function freshDatabase(serverUrl?: string): Promise<TestDatabase> {
  const db = await createDatabase(serverUrl);
  const drop = async (): Promise<void> => {
    await quiesce(db.url).catch(() => undefined);
    await db.drop();
  };
  return { url: db.url, drop };
}

/**
 * Waits (up to 5 s) until no other session is connected to the database. The libraries' pools
 * resolve `end()` once their clients are detached, not closed: a `DROP DATABASE … WITH (FORCE)`
 * arriving meanwhile terminates a closing client, whose pool then emits an unhandled 'error'.
 */
async function quiesce(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const sql =
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()';
    await countUntil(client, sql, 0, performance.now() + 5_000);
  } finally {
    await client.end();
  }
}

async function createDatabase(serverUrl: string | undefined): Promise<TestDatabase> {
  if (serverUrl === undefined) return createTestDatabase();
  const name = `strata_peer_${Math.random().toString(16).slice(2, 14)}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => (dropped ??= adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs `sql` (one integer column `n`) until it returns `target` or the deadline passes; at least once. */
export async function countUntil(
  client: pg.Client,
  sql: string,
  target: number,
  deadline: number,
): Promise<number> {
  for (;;) {
    const n = await countOf(client, sql);
    if (n === target || performance.now() >= deadline) return n;
    await sleep(2);
  }
}

export async function countOf(client: pg.Client, sql: string): Promise<number> {
  const { rows } = await client.query<{ n: number | string }>(sql);
  return Number(rows[0]?.n ?? NaN);
}

/** Resolves when `done()` is true or the deadline passes, checking every few milliseconds. */
export async function until(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && performance.now() < deadline) await sleep(2);
}

export type PeerConfig = 'default' | 'best';

export interface JobsResult {
  /** Jobs whose completion is persisted, per second of processing. */
  readonly jobsPerS: number;
  /** Time of the bulk enqueue call alone. */
  readonly enqueueMs: number;
  /** From the start of processing until every job's completion was seen in the database. */
  readonly processMs: number;
  /** Jobs completed (persisted); fewer than asked only when `maxProcessMs` ran out. */
  readonly completed: number;
  readonly config: string;
}

export interface WorkflowsResult {
  readonly workflowsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly config: string;
}
