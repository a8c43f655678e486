// Browser sessions: how long opening a session takes with Strata's warm pool, against playwright-core
// launching Chromium per session (the naive peer, its default) and playwright-core's documented best
// practice for isolation (one browser, a new context per session), all measured in this run on
// Debian's Chromium; then goto + extract on a local page through a Strata session (allow-list
// routing, a screenshot and a store write per action) against bare playwright-core.
//
//   npm run bench -- browser [--sessions 20] [--cold 8] [--pages 20] [--gap 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { BrowserSessions, CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH } from '../src/compute/index.ts';
import { EXTRACT_SCRIPT } from '../src/compute/browser/extract.ts';
import { waitForNoChromium } from '../src/compute/browser/testing.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { percentile, round, table } from './_util.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20' },
    cold: { type: 'string', default: '8' },
    pages: { type: 'string', default: '20' },
    gap: { type: 'string', default: '300' },
  },
});
const SESSIONS = Number(values.sessions);
const COLD = Number(values.cold);
const PAGES = Number(values.pages);
const LAUNCH = { executablePath: DEFAULT_CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true };

const paragraphs = Array.from(
  { length: 40 },
  (_, i) => `<h2>Section ${i}</h2><p>Paragraph ${i} with <a href="/p/${i}">link ${i}</a> and some text.</p>`,
).join('');
const site = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(
    `<!doctype html><title>Bench</title><link rel="icon" href="data:,"><h1>Bench page</h1>${paragraphs}`,
  );
});
await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

type Stats = { p50: number; p95: number; n: number };
function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 1), p95: round(percentile(sorted, 95), 1), n: sorted.length };
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const dir = mkdtempSync(join(tmpdir(), 'strata-bench-browser-'));
const store = await createSqliteStore({ path: join(dir, 'bench.db') });
const tenantId = 'ten_bench';

/** Strata: open (timed) + close, sequentially; `gapMs` lets the pool refill between sessions. */
async function strataOpen(spareContexts: number, gapMs: number): Promise<Stats> {
  const browsers = await BrowserSessions.open({
    store,
    profilesDir: join(dir, 'profiles'),
    pool: { spareContexts },
  });
  await browsers.pool.warm();
  const samples: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    let id = '';
    samples.push(
      await time(async () => {
        id = (await browsers.openSession({ tenantId, principal: 'bench', allowUrls: [base] })).id;
      }),
    );
    await browsers.closeSession({ tenantId, sessionId: id });
    await pause(gapMs);
  }
  await browsers.close();
  return stats(samples);
}

/** playwright-core default: launch Chromium for every session (launch + context + page), then close. */
async function playwrightCold(): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < COLD; i++) {
    let close: () => Promise<void> = () => Promise.resolve();
    samples.push(
      await time(async () => {
        const browser = await chromium.launch(LAUNCH);
        const context = await browser.newContext();
        await context.newPage();
        close = () => browser.close();
      }),
    );
    await close();
  }
  return stats(samples);
}

/** playwright-core best practice: one running browser, a new context + page per session. */
async function playwrightContext(gapMs: number): Promise<Stats> {
  const browser = await chromium.launch(LAUNCH);
  const samples: number[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    let close: () => Promise<void> = () => Promise.resolve();
    samples.push(
      await time(async () => {
        const context = await browser.newContext();
        await context.newPage();
        close = () => context.close();
      }),
    );
    await close();
    await pause(gapMs);
  }
  await browser.close();
  return stats(samples);
}

async function strataGotoExtract(): Promise<Stats> {
  const browsers = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles') });
  const session = await browsers.openSession({ tenantId, principal: 'bench', allowUrls: [base] });
  const ref = { tenantId, sessionId: session.id };
  await browsers.goto({ ...ref, url: `${base}/warmup` });
  const samples: number[] = [];
  for (let i = 0; i < PAGES; i++) {
    samples.push(
      await time(async () => {
        await browsers.goto({ ...ref, url: `${base}/page/${i}` });
        const page = await browsers.extract(ref);
        if (page.links.length !== 40) throw new Error(`expected 40 links, got ${page.links.length}`);
      }),
    );
  }
  await browsers.close();
  return stats(samples);
}

async function playwrightGotoExtract(): Promise<Stats> {
  const browser = await chromium.launch(LAUNCH);
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/warmup`);
  const samples: number[] = [];
  for (let i = 0; i < PAGES; i++) {
    samples.push(
      await time(async () => {
        await page.goto(`${base}/page/${i}`);
        const extracted = await page.evaluate<{ links: unknown[] }>(EXTRACT_SCRIPT);
        if (extracted.links.length !== 40) throw new Error('extract failed');
      }),
    );
  }
  await browser.close();
  return stats(samples);
}

// A short gap between sessions, as between agent tasks, lets the pool refill its spare context.
const GAP_MS = Number(values.gap);
const warm = await strataOpen(1, GAP_MS);
const warmBackToBack = await strataOpen(1, 0);
const noSpare = await strataOpen(0, 0);
const context = await playwrightContext(GAP_MS);
const cold = await playwrightCold();
const strataPage = await strataGotoExtract();
const barePage = await playwrightGotoExtract();
await store.close();
site.close();
rmSync(dir, { recursive: true, force: true });
const leaked = await waitForNoChromium();

console.log(
  `browser sessions: ${SESSIONS} opens per Strata/context row, ${COLD} cold launches, ${PAGES} pages`,
);
console.log(
  table([
    ['session open', 'p50 ms', 'p95 ms', 'n'],
    [`strata warm pool (spare context, ${GAP_MS} ms between sessions)`, warm.p50, warm.p95, warm.n],
    ['strata warm pool (back to back)', warmBackToBack.p50, warmBackToBack.p95, warmBackToBack.n],
    ['strata, no spare (new context on the shared browser)', noSpare.p50, noSpare.p95, noSpare.n],
    ['playwright-core: new context on a running browser (best)', context.p50, context.p95, context.n],
    ['playwright-core: launch Chromium per session (default)', cold.p50, cold.p95, cold.n],
  ]),
);
console.log('');
console.log(
  table([
    ['goto + extract, local page', 'p50 ms', 'p95 ms', 'n'],
    [
      'strata session (allow-list routing, screenshot + log per action)',
      strataPage.p50,
      strataPage.p95,
      strataPage.n,
    ],
    ['bare playwright-core page', barePage.p50, barePage.p95, barePage.n],
  ]),
);
console.log(`chromium processes left: ${leaked.length}`);
console.log(
  JSON.stringify({
    bench: 'browser',
    strata_open_warm_p50_ms: warm.p50,
    strata_open_warm_p95_ms: warm.p95,
    strata_open_back_to_back_p50_ms: warmBackToBack.p50,
    strata_open_back_to_back_p95_ms: warmBackToBack.p95,
    strata_open_no_spare_p50_ms: noSpare.p50,
    playwright_new_context_p50_ms: context.p50,
    playwright_new_context_p95_ms: context.p95,
    playwright_cold_launch_p50_ms: cold.p50,
    playwright_cold_launch_p95_ms: cold.p95,
    open_speedup_vs_cold_launch: round(cold.p50 / warm.p50, 1),
    open_speedup_vs_new_context: round(context.p50 / warm.p50, 1),
    strata_goto_extract_p50_ms: strataPage.p50,
    strata_goto_extract_p95_ms: strataPage.p95,
    playwright_goto_extract_p50_ms: barePage.p50,
    playwright_goto_extract_p95_ms: barePage.p95,
    chromium_leaked: leaked.length,
  }),
);
