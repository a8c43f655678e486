// Chaos's `browser_crash` on the real browser layer (SQLite): the session's Chromium process is
// SIGKILLed during a browser.goto, which fails as a real crash does (E_CONFLICT, state closed),
// the session is recorded as crashed, and the caller's retry in a new session runs on a freshly
// launched Chromium. The audit entry marks the fault as realised.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { isStrataError, Kernel, type Principal } from '../../kernel/index.ts';
import { faultEvery, faultsOf, testInjector } from '../../kernel/chaos/testing.ts';
import { freshDatabase, withCode } from '../../testkit/stores.ts';
import { eventually } from '../../testkit/eventually.ts';
import { BrowserSessions } from './sessions.ts';
import { browserSyscalls } from './syscalls.ts';
import { chromiumDescendants, describeProcesses, waitForNoChromium } from './testing.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';

type Opened = { session: { id: string } };

const chaos = testInjector();
const dir = mkdtempSync(join(tmpdir(), 'strata-browser-chaos-'));
let server: Server;
let base: string;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let kernel: Kernel;
let browsers: BrowserSessions;
let admin: Principal;
const call = <T>(name: string, input: unknown): Promise<T> =>
  kernel.call<T>(name, input, { principal: admin });

before(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<title>Home</title><h1>Home</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  db = await freshDatabase('sqlite');
  const store = await db.open();
  kernel = await Kernel.open({ store, masterKey: randomBytes(32), chaos });
  browsers = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles') });
  for (const definition of browserSyscalls(browsers)) kernel.register(definition);
  admin = await principalInNewTenant(kernel, 'crash', [{ syscall: '*', resource: '*' }]);
});

after(async () => {
  await browsers?.close();
  await kernel?.close();
  await db?.drop();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
  const left = await waitForNoChromium();
  assert.deepEqual(left, [], `Chromium processes left:\n${describeProcesses(left)}`);
});

it('browser_crash: Chromium dies mid-action, the session is crashed, a new session gets a new Chromium', async () => {
  const first = await call<Opened>('browser.open', { allowUrls: [base] });
  const launches = browsers.pool.launches;
  const before = chromiumDescendants();
  assert.ok(before.length > 0, 'Chromium runs');
  faultEvery(chaos, 'browser.goto', 'browser_crash');
  await assert.rejects(call('browser.goto', { sessionId: first.session.id, url: base }), (error: unknown) => {
    assert.ok(isStrataError(error));
    assert.equal(error.code, 'E_CONFLICT', error.message);
    assert.equal((error.data as { state: string }).state, 'closed');
    return true;
  });
  assert.deepEqual(await faultsOf(kernel, admin.tenantId, 'browser.goto'), [
    { kind: 'browser_crash', layer: 'compute', rule: 'rules[0]', attempt: 1, realised: true },
  ]);
  const crashed = await eventually(async () => {
    const s = await browsers.get({ tenantId: admin.tenantId, sessionId: first.session.id });
    return s.status === 'closed' ? s : undefined;
  }, 5_000);
  assert.deepEqual([crashed.closeReason, crashed.live], ['crashed', false]);
  const gone = await eventually(
    () => (chromiumDescendants().some((p) => before.includes(p)) ? undefined : true),
    10_000,
  );
  assert.ok(gone, 'the killed Chromium and its helpers are gone');

  faultEvery(chaos);
  // The crashed session stays closed and says so; the caller retries in a new session.
  await assert.rejects(
    call('browser.goto', { sessionId: first.session.id, url: base }),
    withCode('E_CONFLICT'),
  );
  const second = await call<Opened>('browser.open', { allowUrls: [base] });
  const nav = await call<{ title: string }>('browser.goto', { sessionId: second.session.id, url: base });
  assert.equal(nav.title, 'Home');
  assert.equal(browsers.pool.launches, launches + 1, 'a fresh Chromium was launched');
});
