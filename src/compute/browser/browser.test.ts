// Browser sessions against real Chromium and pages served on 127.0.0.1: navigate, fill and submit a
// form, extract text and links, screenshots (PNG), the action log; the allow-list refuses direct
// navigations, redirects, script navigations, popups and subresources (and the refused host never
// sees a request); bad input gets clear codes; idle sessions close; persistent profiles survive; no
// Chromium process outlives the pool.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteStore } from '../../kernel/store/drivers/sqlite/index.ts';
import type { Store } from '../../kernel/index.ts';
import { withCode } from '../../testkit/stores.ts';
import { BrowserPool } from './pool.ts';
import { BrowserSessions } from './sessions.ts';
import { serve, type Site } from './test-site.ts';
import { describeProcesses, waitForNoChromium } from './testing.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

void describe('browser sessions (Chromium, pages on 127.0.0.1)', () => {
  let site: Site;
  let store: Store;
  let dir: string;
  let pool: BrowserPool;
  let browsers: BrowserSessions;
  const tenantId = 'ten_a';
  const ref = (sessionId: string): { tenantId: string; sessionId: string } => ({ tenantId, sessionId });

  before(async () => {
    site = await serve();
    dir = mkdtempSync(join(tmpdir(), 'strata-browser-'));
    store = await createSqliteStore({ path: join(dir, 'test.db') });
    pool = new BrowserPool({ spareContexts: 1 });
    browsers = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles'), sharedPool: pool });
  });

  after(async () => {
    await browsers.close();
    await pool.close();
    await store.close();
    site.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('navigates, fills and submits a form, extracts text and links, screenshots, and logs every action', async () => {
    const session = await browsers.openSession({ tenantId, principal: 'key_test', allowUrls: [site.base] });
    assert.equal(session.status, 'open');
    assert.equal(session.live, true);

    const nav = await browsers.goto({ ...ref(session.id), url: `${site.base}/links` });
    assert.equal(nav.status, 200);
    assert.equal(nav.title, 'Links');
    assert.equal(nav.seq, 1);

    const links = await browsers.extract(ref(session.id));
    assert.match(links.text, /^# Links$/m);
    assert.match(links.text, /^## Inside$/m);
    assert.match(links.text, /^- \[the form\]\(http:\/\/127\.0\.0\.1:\d+\/form\)$/m);
    assert.match(links.text, /Some bold text\./);
    assert.doesNotMatch(links.text, /hidden words/);
    assert.deepEqual(
      links.links.map((l) => l.text),
      ['the form', 'outside link', 'popup link'],
    );
    assert.equal(links.links[0]?.href, `${site.base}/form`);

    await browsers.click({ ...ref(session.id), selector: '#to-form' });
    await browsers.fill({ ...ref(session.id), selector: '#q', value: 'strata agents' });
    await browsers.fill({ ...ref(session.id), selector: '#pw', value: 'hunter2-secret' });
    const submitted = await browsers.click({ ...ref(session.id), selector: '#go' });
    assert.equal(submitted.title, 'Results');
    assert.equal(submitted.url, `${site.base}/submit`);
    const results = await browsers.extract(ref(session.id));
    assert.match(results.text, /You searched for: strata agents/);

    const shot = await browsers.screenshot(ref(session.id));
    assert.deepEqual(shot.png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(shot.width, 1280);
    assert.equal(shot.height, 800);
    assert.ok(shot.png.length > 1_000, `a real frame, not an empty PNG (${shot.png.length} bytes)`);
    const full = await browsers.screenshot({ ...ref(session.id), fullPage: true });
    assert.deepEqual(full.png.subarray(0, 8), PNG_SIGNATURE);

    const { session: logged, actions } = await browsers.actions(ref(session.id));
    assert.equal(logged.actions, 9);
    assert.deepEqual(
      actions.map((a) => a.kind),
      ['goto', 'extract', 'click', 'fill', 'fill', 'click', 'extract', 'screenshot', 'screenshot'],
    );
    assert.deepEqual(
      actions.map((a) => a.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(actions.every((a) => a.ok && a.screenshot !== null && /^[0-9a-f]{64}$/.test(a.screenshot)));
    assert.equal(actions[5]?.url, `${site.base}/submit`);
    // The typed values are never logged, only their length.
    assert.deepEqual(actions[4]?.detail, { selector: '#pw', chars: 'hunter2-secret'.length });
    assert.doesNotMatch(JSON.stringify(actions), /hunter2|strata agents/);
    // Every action's screenshot is retrievable later, by seq or hash, and is the PNG that was taken.
    const byHash = await browsers.shot({ ...ref(session.id), sha256: shot.screenshot?.sha256 ?? '' });
    assert.deepEqual(byHash.png, shot.png);
    const first = await browsers.shot({ ...ref(session.id), seq: 1 });
    assert.deepEqual(first.png.subarray(0, 8), PNG_SIGNATURE);
    assert.equal(first.sha256, actions[0]?.screenshot);

    const closed = await browsers.closeSession(ref(session.id));
    assert.equal(closed.status, 'closed');
    assert.equal(closed.closeReason, 'closed');
    assert.equal(closed.live, false);
    // The log outlives the session.
    assert.equal((await browsers.actions(ref(session.id))).actions.length, 9);
    await assert.rejects(browsers.goto({ ...ref(session.id), url: site.base }), withCode('E_CONFLICT'));
  });

  it('refuses navigations outside the allow-list: direct, link, redirect, script, popup and subresource', async () => {
    const session = await browsers.openSession({
      tenantId,
      principal: 'key_test',
      allowUrls: [`${site.base}/*`],
    });
    const id = session.id;
    await assert.rejects(browsers.goto({ ...ref(id), url: `${site.outside}/direct` }), (error: unknown) => {
      assert.ok(withCode('E_URL_NOT_ALLOWED')(error));
      assert.match(
        (error as Error).message,
        /localhost:\d+\/direct is outside this browser session's allow-list/,
      );
      return true;
    });
    await assert.rejects(
      browsers.goto({ ...ref(id), url: `${site.base}/redirect-out` }),
      (error: unknown) => {
        assert.ok(withCode('E_URL_NOT_ALLOWED')(error));
        assert.deepEqual((error as { data: unknown }).data, {
          url: `${site.outside}/landing`,
          kind: 'redirect',
        });
        return true;
      },
    );
    // A redirect inside the allow-list is followed.
    const inside = await browsers.goto({ ...ref(id), url: `${site.base}/redirect-in` });
    assert.equal(inside.url, `${site.base}/form`);

    await browsers.goto({ ...ref(id), url: `${site.base}/links` });
    await assert.rejects(browsers.click({ ...ref(id), selector: '#out' }), withCode('E_URL_NOT_ALLOWED'));
    await browsers.goto({ ...ref(id), url: `${site.base}/links` });
    await assert.rejects(browsers.click({ ...ref(id), selector: '#open' }), (error: unknown) => {
      assert.ok(withCode('E_URL_NOT_ALLOWED')(error));
      assert.equal((error as { data: { kind: string } }).data.kind, 'popup');
      return true;
    });
    await assert.rejects(browsers.click({ ...ref(id), selector: '#blank' }), withCode('E_URL_NOT_ALLOWED'));
    // Refused popups are closed: actions still apply to the original page.
    const still = await browsers.extract(ref(id));
    assert.equal(still.url, `${site.base}/links`);

    // A page that navigates itself away after loading: the request never leaves.
    await browsers.goto({ ...ref(id), url: `${site.base}/script-out` }).catch((error: unknown) => {
      assert.ok(withCode('E_URL_NOT_ALLOWED')(error)); // when the script ran before load completed
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const blockedPage = await browsers.extract(ref(id));
    assert.match(blockedPage.text, /Blocked by Strata/);

    assert.deepEqual(site.outsideHits, [], 'the disallowed host never received a request');
    const { actions } = await browsers.actions(ref(id));
    const refused = actions.filter((a) => a.error?.code === 'E_URL_NOT_ALLOWED');
    assert.ok(refused.length >= 5, `refusals are logged (${refused.length})`);
    assert.ok(refused.every((a) => !a.ok && a.screenshot !== null));
    await browsers.closeSession(ref(id));
  });

  it('rejects bad input with clear codes: bad URLs and patterns, unknown sessions, missing selectors', async () => {
    await assert.rejects(
      browsers.openSession({ tenantId, principal: 'k', allowUrls: ['ftp://example.com'] }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      browsers.openSession({ tenantId, principal: 'k', allowUrls: [site.base], persistentContext: '../etc' }),
      withCode('E_INVALID_INPUT'),
    );
    const session = await browsers.openSession({ tenantId, principal: 'k', allowUrls: [site.base] });
    const id = session.id;
    await assert.rejects(browsers.goto({ ...ref(id), url: 'not a url' }), withCode('E_INVALID_INPUT'));
    await assert.rejects(
      browsers.goto({ ...ref(id), url: 'file:///etc/passwd' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(browsers.goto({ ...ref('brs_nope'), url: site.base }), withCode('E_NOT_FOUND'));
    // Another tenant cannot see or drive the session.
    await assert.rejects(
      browsers.goto({ tenantId: 'ten_b', sessionId: id, url: site.base }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(browsers.actions({ tenantId: 'ten_b', sessionId: id }), withCode('E_NOT_FOUND'));
    await browsers.goto({ ...ref(id), url: `${site.base}/form` });
    const started = Date.now();
    await assert.rejects(
      browsers.click({ ...ref(id), selector: '#does-not-exist', timeoutMs: 300 }),
      (error: unknown) => {
        assert.ok(withCode('E_SELECTOR_TIMEOUT')(error));
        assert.match((error as Error).message, /selector "#does-not-exist" within 300 ms/);
        assert.deepEqual((error as { data: unknown }).data, { selector: '#does-not-exist', timeoutMs: 300 });
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000);
    await assert.rejects(
      browsers.fill({ ...ref(id), selector: '#nope', value: 'x', timeoutMs: 200 }),
      withCode('E_SELECTOR_TIMEOUT'),
    );
    await assert.rejects(
      browsers.click({ ...ref(id), selector: 'div[[[', timeoutMs: 200 }),
      withCode('E_INVALID_INPUT'),
    );
    // Unreachable page inside the allow-list.
    await assert.rejects(
      browsers.goto({ ...ref(id), url: 'http://127.0.0.1:1/', timeoutMs: 3_000 }).catch((e: unknown) => {
        throw e;
      }),
      withCode('E_URL_NOT_ALLOWED'), // port 1 is not the allowed origin's port
    );
    // The session still works after failures, and every failure is in the log.
    const ok = await browsers.extract(ref(id));
    assert.match(ok.text, /# Search/);
    const { actions } = await browsers.actions(ref(id));
    assert.deepEqual(
      actions.map((a) => a.error?.code ?? 'ok'),
      ['ok', 'E_SELECTOR_TIMEOUT', 'E_SELECTOR_TIMEOUT', 'E_INVALID_INPUT', 'E_URL_NOT_ALLOWED', 'ok'],
    );
    await browsers.closeSession(ref(id));
  });

  it('reports an unreachable allowed URL as E_NAVIGATION_FAILED', async () => {
    const session = await browsers.openSession({
      tenantId,
      principal: 'k',
      allowUrls: ['http://127.0.0.1:*'],
    });
    await assert.rejects(
      browsers.goto({ ...ref(session.id), url: 'http://127.0.0.1:1/', timeoutMs: 5_000 }),
      (error: unknown) => {
        assert.ok(withCode('E_NAVIGATION_FAILED')(error), String(error));
        assert.equal((error as { data: { url: string } }).data.url, 'http://127.0.0.1:1/');
        return true;
      },
    );
    await browsers.closeSession(ref(session.id));
  });

  it('closes idle sessions and keeps their log', async () => {
    const idle = await BrowserSessions.open({
      store,
      profilesDir: join(dir, 'profiles'),
      sharedPool: pool,
      idleTimeoutMs: 150,
    });
    try {
      const session = await idle.openSession({ tenantId, principal: 'k', allowUrls: [site.base] });
      await idle.goto({ ...ref(session.id), url: `${site.base}/form` });
      const deadline = Date.now() + 10_000;
      let info = await idle.get(ref(session.id));
      while (info.status === 'open' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        info = await idle.get(ref(session.id));
      }
      assert.equal(info.status, 'closed');
      assert.equal(info.closeReason, 'idle');
      await assert.rejects(idle.goto({ ...ref(session.id), url: site.base }), (error: unknown) => {
        assert.ok(withCode('E_CONFLICT')(error));
        assert.match((error as Error).message, /was closed \(idle\)/);
        return true;
      });
      assert.equal((await idle.actions(ref(session.id))).actions.length, 1);
    } finally {
      await idle.close();
    }
  });

  it('keeps cookies in a named persistent profile across sessions, one session per profile at a time', async () => {
    const open = (): ReturnType<BrowserSessions['openSession']> =>
      browsers.openSession({ tenantId, principal: 'k', allowUrls: [site.base], persistentContext: 'shop' });
    const first = await open();
    await assert.rejects(open(), withCode('E_CONFLICT'));
    await browsers.goto({ ...ref(first.id), url: `${site.base}/cookie` });
    await browsers.closeSession(ref(first.id));
    const second = await open();
    assert.equal(second.profile, 'shop');
    await browsers.goto({ ...ref(second.id), url: `${site.base}/whoami` });
    assert.match((await browsers.extract(ref(second.id))).text, /cookie: remember=yes/);
    await browsers.closeSession(ref(second.id));
    // An ephemeral session does not see the profile's cookies.
    const fresh = await browsers.openSession({ tenantId, principal: 'k', allowUrls: [site.base] });
    await browsers.goto({ ...ref(fresh.id), url: `${site.base}/whoami` });
    assert.match((await browsers.extract(ref(fresh.id))).text, /cookie: none/);
    await browsers.closeSession(ref(fresh.id));
  });

  it('reuses one Chromium for ephemeral sessions and leaves no process behind on close', async () => {
    const launchesBefore = pool.launches;
    const sessions = await Promise.all(
      [1, 2, 3].map(() => browsers.openSession({ tenantId, principal: 'k', allowUrls: [site.base] })),
    );
    assert.equal(pool.launches, launchesBefore, 'no new Chromium for new sessions');
    // Contexts are isolated: a cookie set in one is not sent by another.
    await browsers.goto({ ...ref(sessions[0]?.id as string), url: `${site.base}/cookie` });
    await browsers.goto({ ...ref(sessions[1]?.id as string), url: `${site.base}/whoami` });
    assert.match((await browsers.extract(ref(sessions[1]?.id as string))).text, /cookie: none/);
    // Shutdown closes the live sessions (reason shutdown) and every Chromium process.
    await browsers.close();
    for (const s of sessions) assert.equal((await browsers.get(ref(s.id))).closeReason, 'shutdown');
    await pool.close();
    const left = await waitForNoChromium();
    assert.deepEqual(left, [], describeProcesses(left));
  });
});
