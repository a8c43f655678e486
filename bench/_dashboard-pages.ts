// bench/_dashboard-pages.ts — open dashboard pages for bench/dashboard.ts, in a child process of it.
// Why a child: playwright-core's driver runs in the process that calls it and handles the Chromium
// DevTools traffic of every page (a message per request and per event-stream message), so pages
// driven from the bench's own process would add the driver's CPU to the server's it measures.
// IPC: the parent sends { url } (every page navigates there) or { close: true }; each is answered
// with { done: true } once finished.
import { chromium, type Page } from 'playwright-core';
import { DEFAULT_CHROMIUM_PATH } from '../src/compute/index.ts';

const [serverUrl = '', cookie = '', countText = '10'] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM_PATH, headless: true });
const pages: Page[] = [];
for (let i = 0; i < Number(countText); i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const [name = '', value = ''] = cookie.split('=');
  await context.addCookies([{ name, value, url: serverUrl }]);
  pages.push(await context.newPage());
}

process.on('message', (message: { url?: string; close?: boolean }) => {
  void (async () => {
    if (message.url !== undefined) await Promise.all(pages.map((p) => p.goto(message.url as string)));
    if (message.close) await browser.close();
    process.send?.({ done: true });
    if (message.close) process.disconnect();
  })();
});
process.send?.({ done: true }); // ready
