// bench/runs-list.ts — the Runs view's queries over 10,000 runs (BENCH_RUNS), on SQLite and on
// PostgreSQL: `runs.list` through the kernel (first page, and a page 9,000 runs deep by its keyset
// cursor) and `runs.count`, unfiltered and with each kind of filter. The runs are seeded with
// startMany (500 to a statement) over 100 minutes of creation times, 3 agents, a supervisor with
// 2,000 children of which one is a nested supervisor of 500, and 10 % failed / 60 % completed.
// Each figure is the median of 15 calls, in ms.
import { z } from 'zod';
import type { Principal } from '../src/kernel/index.ts';
import { ManualClock } from '../src/kernel/index.ts';
import { defineWorkflow } from '../src/orchestration/define.ts';
import { runSyscalls } from '../src/orchestration/syscalls.ts';
import { harness, type Harness } from '../src/orchestration/testing.ts';
import { freshDatabase } from '../src/testkit/stores.ts';
import { round, table } from './_util.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 10_000);
const REPEAT = 15;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const noop = (name: string) =>
  defineWorkflow({ name, version: 1, input: z.object({}), output: z.null() }, () => Promise.resolve(null));

async function seed(h: Harness, clock: ManualClock, agents: Principal[]) {
  const start = (workflow: string, n: number, extra: object = {}, agent = 0) =>
    h.engine.startMany(
      workflow,
      Array.from({ length: n }, () => ({})),
      {
        principal: agents[agent] as Principal,
        ...extra,
      },
    );
  const [sup] = await start('supervisor', 1);
  const [mid] = await start('supervisor', 1, { parentId: sup, rootId: sup });
  const ids: string[] = [];
  ids.push(...(await start('worker', 500, { parentId: mid, rootId: sup })));
  ids.push(...(await start('worker', 1499, { parentId: sup, rootId: sup })));
  for (let i = ids.length + 2; i < RUNS; i += 100) {
    clock.advance(60_000);
    ids.push(
      ...(await start(
        Math.floor(i / 100) % 7 === 0 ? 'mailer' : 'task',
        Math.min(100, RUNS - i),
        {},
        Math.floor(i / 100) % 3,
      )),
    );
  }
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const failed = chunk.filter((_, j) => j % 10 === 0);
    const completed = chunk.filter((_, j) => j % 10 >= 4);
    const marks = (list: string[]) => list.map(() => '?').join(', ');
    await h.store.run(
      `UPDATE orch_runs SET status = 'failed', cost_micros = 1500000, error = '{"code":"E_TIMEOUT","message":"x"}'
       WHERE id IN (${marks(failed)})`,
      failed,
    );
    await h.store.run(
      `UPDATE orch_runs SET status = 'completed' WHERE id IN (${marks(completed)})`,
      completed,
    );
  }
  return { sup: sup as string, mid: mid as string };
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return round(times.sort((a, b) => a - b)[Math.floor(REPEAT / 2)] as number);
}

async function measure(dialect: 'sqlite' | 'postgres') {
  const db = await freshDatabase(dialect);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const h = await harness(db, undefined, clock);
  try {
    for (const def of runSyscalls(h.engine)) h.kernel.register(def);
    for (const name of ['supervisor', 'worker', 'task', 'mailer']) h.engine.register(noop(name));
    const agents = [h.principal, ...(await Promise.all([1, 2].map(() => agentOf(h))))];
    const t = performance.now();
    const { sup, mid } = await seed(h, clock, agents);
    log(`${dialect}: seeded ${RUNS} runs in ${Math.round(performance.now() - t)} ms`);
    const call = (name: string, input: object) =>
      h.kernel.call(`runs.${name}`, input, { principal: h.principal });
    const filters: [string, object][] = [
      ['none', {}],
      ['status=failed', { status: 'failed' }],
      ['status=queued,failed', { status: ['queued', 'failed'] }],
      ['workflow=task', { workflow: 'task' }],
      ['agent', { agent: agents[1]?.id }],
      ['supervisor (root)', { supervisor: sup }],
      ['supervisor (nested)', { supervisor: mid }],
      ['errorCode', { errorCode: 'E_TIMEOUT' }],
      [
        'created window',
        { createdAfter: clock.now() - 50 * 60_000, createdBefore: clock.now() - 10 * 60_000 },
      ],
      ['minCostUsd', { minCostUsd: 1 }],
      ['q=mail', { q: 'mail' }],
    ];
    const rows: (string | number)[][] = [];
    for (const [label, filter] of filters) {
      const all: string[] = [];
      for (let after: string | undefined, more = true; more; after = all.at(-1)) {
        const page = await h.engine.list(h.principal.tenantId, { ...filter, limit: 1000, after });
        all.push(...page.map((r) => r.id));
        more = page.length === 1000;
      }
      const deepAfter = all[Math.max(0, Math.min(9000, all.length - 50))];
      rows.push([
        label,
        all.length,
        await median(() => call('list', { ...filter, limit: 50 })),
        await median(() => call('list', { ...filter, limit: 50, after: deepAfter })),
        await median(() => call('count', filter)),
      ]);
    }
    return rows;
  } finally {
    await h.close();
    await db.drop();
  }
}

async function agentOf(h: Harness): Promise<Principal> {
  const grants = [{ syscall: '*', resource: '*' }];
  const { key } = await h.kernel.principals.createApiKey({
    tenantId: h.principal.tenantId,
    name: 'agent',
    grants,
  });
  return h.kernel.authenticate({ apiKey: key });
}

type Figures = { matched: number; first: number; deep: number; count: number };
const results: Record<string, Record<string, Figures>> = {};
for (const dialect of ['sqlite', 'postgres'] as const) {
  const rows = await measure(dialect);
  console.log(`\n${dialect}, ${RUNS} runs (median ms of ${REPEAT} kernel calls)`);
  console.log(table([['filter', 'matched', 'first page', 'deep page', 'count'], ...rows]));
  results[dialect] = Object.fromEntries(
    rows.map(([label, matched, first, deep, count]): [string, Figures] => [
      String(label),
      { matched: Number(matched), first: Number(first), deep: Number(deep), count: Number(count) },
    ]),
  );
}
console.log(JSON.stringify({ bench: 'runs-list', runs: RUNS, ...results }));
