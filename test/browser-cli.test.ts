// `strata browser …` end to end: a real `strata up`, a page served on 127.0.0.1, and the CLI talking
// to the server as a user would: open (with --goto), goto, extract, shot (a PNG file), log, close;
// a URL outside the allow-list exits 4 with E_URL_NOT_ALLOWED; the server's shutdown leaves no
// Chromium process behind.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jsonOf, runCli, startUp, type CliResult, type RunningServer } from '../src/cli/testing.ts';
import { describeProcesses, waitForNoChromium } from '../src/compute/browser/testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-browser-cli-'));
let strata: RunningServer;
let site: Server;
let base: string;

before(async () => {
  site = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<title>Page ${req.url}</title><h1>Hello from ${req.url}</h1><a href="/next">next</a>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  strata = await startUp(dataDir);
});

after(async () => {
  let code: number | null;
  try {
    code = await strata.stop();
  } finally {
    site.close();
    site.closeAllConnections();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const left = await waitForNoChromium();
  assert.deepEqual(left, [], `Chromium processes outlive the server:\n${describeProcesses(left)}`);
  assert.equal(code, 0, strata.stderr());
});

const browser = (args: readonly string[]): Promise<CliResult> =>
  runCli(['--data-dir', dataDir, 'browser', ...args, '--url', strata.started.url, '--json']);

async function ok<T>(args: readonly string[]): Promise<T> {
  const result = await browser(args);
  assert.equal(result.code, 0, `browser ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return jsonOf<T>(result);
}

test('open, goto, extract, shot, log and close from the command line', async () => {
  const opened = await ok<{ session: { id: string }; navigation: { title: string } }>([
    'open',
    '--allow',
    base,
    '--goto',
    `${base}/start`,
  ]);
  assert.equal(opened.navigation.title, 'Page /start');
  const id = opened.session.id;
  const nav = await ok<{ seq: number; url: string; status: number }>(['goto', id, `${base}/next`]);
  assert.deepEqual([nav.seq, nav.url, nav.status], [2, `${base}/next`, 200]);
  const page = await ok<{ text: string }>(['extract', id]);
  assert.match(page.text, /^# Hello from \/next$/m);

  const file = join(dataDir, 'page.png');
  const shot = await ok<{ file: string; bytes: number; seq: number }>(['shot', id, '-o', file]);
  const png = readFileSync(file);
  assert.equal(png.length, shot.bytes);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const first = join(dataDir, 'first.png');
  await ok(['shot', id, '--seq', '1', '-o', first]);
  assert.equal(readFileSync(first).subarray(1, 4).toString(), 'PNG');

  const refused = await browser(['goto', id, 'http://localhost:9/elsewhere']);
  assert.equal(refused.code, 4, refused.stdout + refused.stderr);
  assert.equal(jsonOf<{ error: { code: string } }>(refused).error.code, 'E_URL_NOT_ALLOWED');

  const log = await ok<{ actions: { kind: string; ok: boolean }[] }>(['log', id]);
  assert.deepEqual(
    log.actions.map((a) => `${a.kind}:${a.ok}`),
    ['goto:true', 'goto:true', 'extract:true', 'screenshot:true', 'goto:false'],
  );
  const text = await runCli(['--data-dir', dataDir, 'browser', 'log', id, '--url', strata.started.url]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /SEQ\s+ACTION\s+OK/);
  assert.match(text.stdout, /E_URL_NOT_ALLOWED/);

  const closed = await ok<{ status: string }>(['close', id]);
  assert.equal(closed.status, 'closed');
  const missing = await browser(['log', 'brs_missing']);
  assert.equal(missing.code, 3);
});

test('a session left open is closed when the server shuts down', async () => {
  const opened = await ok<{ session: { id: string } }>(['open', '--allow', base, '--goto', `${base}/left`]);
  assert.ok(opened.session.id.startsWith('brs_'));
  // The after() hook stops the server and asserts no Chromium process is left.
});
