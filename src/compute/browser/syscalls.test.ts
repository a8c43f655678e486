// The browser.* syscalls through the kernel pipeline, on both engines: a session opened, driven and
// logged by one tenant; its fill values redacted from the audit log; another tenant gets
// E_NOT_FOUND; a key granted one session cannot touch another; bad input is E_INVALID_INPUT.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Kernel, type Grant, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { BrowserPool } from './pool.ts';
import { BrowserSessions } from './sessions.ts';
import { browserSyscalls } from './syscalls.ts';
import { describeProcesses, waitForNoChromium } from './testing.ts';

let server: Server;
let base: string;
const pool = new BrowserPool({ spareContexts: 1 });
const dir = mkdtempSync(join(tmpdir(), 'strata-browser-sys-'));

before(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      req.url === '/login'
        ? '<title>Login</title><h1>Sign in</h1><input id="user"><input id="pw" type="password"><a href="/">home</a>'
        : '<title>Home</title><h1>Home</h1><p>Welcome.</p>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await pool.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
  const left = await waitForNoChromium();
  assert.deepEqual(left, [], `Chromium processes left:\n${describeProcesses(left)}`);
});

type Opened = { session: { id: string; status: string }; navigation?: { title: string; seq: number } };
type Log = { session: { actions: number }; actions: { kind: string; ok: boolean; detail: unknown }[] };

onEveryStore('browser syscalls', (db) => {
  let kernel: Kernel;
  let browsers: BrowserSessions;

  before(async () => {
    const store = await db().open();
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    browsers = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles'), sharedPool: pool });
    for (const definition of browserSyscalls(browsers)) kernel.register(definition);
  });

  after(async () => {
    await browsers.close();
    await kernel.close();
  });

  async function principal(grants: Grant[], tenantId?: string): Promise<Principal> {
    const tenant =
      tenantId ?? (await kernel.principals.createTenant(`t${randomBytes(4).toString('hex')}`)).id;
    const { key } = await kernel.principals.createApiKey({ tenantId: tenant, name: 'k', grants });
    return kernel.authenticate({ apiKey: key });
  }

  it('opens, drives, logs and closes a session; fill values never reach the audit log', async () => {
    const alice = await principal([{ syscall: 'browser.*', resource: '*' }]);
    const call = <T>(name: string, input: unknown): Promise<T> =>
      kernel.call<T>(name, input, { principal: alice });
    const opened = await call<Opened>('browser.open', { allowUrls: [base], url: `${base}/login` });
    assert.equal(opened.navigation?.title, 'Login');
    const id = opened.session.id;
    await call('browser.fill', { sessionId: id, selector: '#pw', value: 'correct-horse-battery' });
    const page = await call<{ text: string; links: { href: string }[] }>('browser.extract', {
      sessionId: id,
    });
    assert.match(page.text, /^# Sign in$/m);
    assert.deepEqual(
      page.links.map((l) => l.href),
      [`${base}/`],
    );
    const shot = await call<{ png: string; width: number; screenshot: { sha256: string } }>(
      'browser.screenshot',
      {
        sessionId: id,
        inline: true,
      },
    );
    assert.equal(Buffer.from(shot.png, 'base64').subarray(1, 4).toString(), 'PNG');
    const stored = await call<{ png: string; sha256: string }>('browser.shot', { sessionId: id });
    assert.equal(stored.sha256, shot.screenshot.sha256);
    assert.equal(stored.png, shot.png);
    const log = await call<Log>('browser.log', { sessionId: id });
    assert.deepEqual(
      log.actions.map((a) => a.kind),
      ['goto', 'fill', 'extract', 'screenshot'],
    );
    const listed = await call<{ sessions: { id: string; live: boolean }[] }>('browser.list', {});
    assert.deepEqual(
      listed.sessions.map((s) => [s.id, s.live]),
      [[id, true]],
    );
    const closed = await call<{ status: string }>('browser.close', { sessionId: id });
    assert.equal(closed.status, 'closed');

    const audit = JSON.stringify(await kernel.audit.list(alice.tenantId));
    assert.match(audit, /browser\.fill/);
    assert.doesNotMatch(audit, /correct-horse-battery/);
    assert.doesNotMatch(JSON.stringify(log), /correct-horse-battery/);
  });

  it('closes the session it opened when the first navigation fails', async () => {
    const bob = await principal([{ syscall: 'browser.*', resource: '*' }]);
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const target = `http://127.0.0.1:${closedPort}`;
    const live = browsers.liveCount;
    await assert.rejects(
      kernel.call('browser.open', { allowUrls: [target], url: `${target}/` }, { principal: bob }),
      withCode('E_NAVIGATION_FAILED'),
    );
    const listed = await kernel.call<{ sessions: { status: string; live: boolean; closeReason: string }[] }>(
      'browser.list',
      {},
      { principal: bob },
    );
    assert.deepEqual(
      listed.sessions.map((s) => [s.status, s.live, s.closeReason]),
      [['closed', false, 'closed']],
    );
    assert.equal(browsers.liveCount, live, 'no slot held by a session nobody can name');
  });

  it('isolates tenants and checks grants per session', async () => {
    const owner = await principal([{ syscall: 'browser.*', resource: '*' }]);
    const other = await principal([{ syscall: 'browser.*', resource: '*' }]);
    const mine = await kernel.call<Opened>('browser.open', { allowUrls: [base] }, { principal: owner });
    const second = await kernel.call<Opened>('browser.open', { allowUrls: [base] }, { principal: owner });
    const id = mine.session.id;
    for (const [name, input] of [
      ['browser.goto', { sessionId: id, url: base }],
      ['browser.log', { sessionId: id }],
      ['browser.close', { sessionId: id }],
    ] as const) {
      await assert.rejects(kernel.call(name, input, { principal: other }), withCode('E_NOT_FOUND'), name);
    }
    // A key granted one session (same tenant) can drive it and nothing else.
    const narrow = await principal([{ syscall: 'browser.*', resource: `browser/${id}` }], owner.tenantId);
    const nav = await kernel.call<{ title: string }>(
      'browser.goto',
      { sessionId: id, url: base },
      { principal: narrow },
    );
    assert.equal(nav.title, 'Home');
    await assert.rejects(
      kernel.call('browser.goto', { sessionId: second.session.id, url: base }, { principal: narrow }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(
      kernel.call('browser.open', { allowUrls: [base] }, { principal: narrow }),
      withCode('E_CAPABILITY_DENIED'),
    );
    // Persistent profiles are their own resource.
    const opener = await principal([{ syscall: 'browser.open', resource: 'browser/new' }], owner.tenantId);
    await assert.rejects(
      kernel.call('browser.open', { allowUrls: [base], persistentContext: 'p1' }, { principal: opener }),
      withCode('E_CAPABILITY_DENIED'),
    );
    // Bad input never reaches the browser.
    await assert.rejects(
      kernel.call('browser.goto', { sessionId: id, url: 'javascript:alert(1)' }, { principal: owner }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      kernel.call('browser.open', { allowUrls: [] }, { principal: owner }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      kernel.call('browser.open', { allowUrls: ['*'] }, { principal: owner }),
      withCode('E_INVALID_INPUT'),
    );
    for (const waitMs of [-1, 20_001, 1.5])
      await assert.rejects(
        kernel.call('browser.open', { allowUrls: [base], waitMs }, { principal: owner }),
        withCode('E_INVALID_INPUT'),
        `waitMs ${waitMs}`,
      );
    await assert.rejects(
      kernel.call('browser.goto', { sessionId: id, url: `${base}/x`, timeoutMs: -5 }, { principal: owner }),
      withCode('E_INVALID_INPUT'),
    );
    const log = await kernel.call<Log>('browser.log', { sessionId: id }, { principal: owner });
    assert.deepEqual(
      log.actions.map((a) => a.kind),
      ['goto'],
      'refused and invalid calls did not reach the session',
    );
    await kernel.call('browser.close', { sessionId: id }, { principal: owner });
    await kernel.call('browser.close', { sessionId: second.session.id }, { principal: owner });
  });
});
