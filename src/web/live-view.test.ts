// GET /ui/live on a real server and runtime (SQLite): the page's one stream, on which the server
// pushes the view rendered again and the badge's count when an event touches them. What it must
// keep from the raw event stream (resume from the rendered seq, a gap too old re-renders at once),
// what it adds (only a run's own events re-render its page; renders carry no wrapper; a session
// that ends mid-stream sends the page to the login), and bad input refused with a stable code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sseMessages, type SseMessage } from '../cli/sse.ts';
import { NEEDS_YOU_TOPICS } from './nav.ts';
import { fragments } from './render.ts';
import { login, SESSION_COOKIE } from './session.ts';
import { openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

let env: DashboardTestEnv;
let admin: Browser;
before(async () => {
  env = await openDashboardEnv();
  admin = await env.login(env.adminKey);
});
after(() => env.close());

const head = async (): Promise<number> => {
  const row = await env.runtime.kernel.store.get<{ seq: number | null }>(
    'SELECT MAX(seq) AS seq FROM kernel_outbox WHERE tenant_id = ?',
    [env.tenantId],
  );
  return Number(row?.seq ?? 0);
};

interface Live {
  readonly status: number;
  readonly text: () => Promise<string>;
  /** The next message of `event` (others are passed over), or undefined after `ms`. */
  next(event: string, ms?: number): Promise<SseMessage | undefined>;
  /** True once the server has ended the stream. */
  ended(ms: number): Promise<boolean>;
  close(): void;
}

async function openLive(query: Record<string, string>, cookie = admin.cookie): Promise<Live> {
  const abort = new AbortController();
  const res = await fetch(`${env.url}/ui/live?${new URLSearchParams(query).toString()}`, {
    headers: { cookie },
    signal: abort.signal,
  });
  const messages = res.ok && res.body ? sseMessages(res.body)[Symbol.asyncIterator]() : undefined;
  let pending: Promise<IteratorResult<SseMessage>> | undefined;
  const step = (ms: number) => {
    pending ??= messages?.next();
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    return Promise.race([pending ?? Promise.resolve({ done: true, value: undefined }), timeout]);
  };
  return {
    status: res.status,
    text: () => res.text(),
    async next(event, ms = 5_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const got = await step(Math.max(0, deadline - Date.now()));
        if (got === 'timeout') return undefined;
        pending = undefined;
        if (got.done) return undefined;
        if (got.value?.event === event) return got.value;
      }
    },
    async ended(ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const got = await step(Math.max(0, deadline - Date.now()));
        if (got === 'timeout') return false;
        pending = undefined;
        if (got.done) return true;
      }
    },
    close: () => abort.abort(),
  };
}

/** A stream of the runs list filtered to dash.quick, from the present. */
const followQuickRuns = async (): Promise<Live> =>
  openLive({ view: '/ui/runs?workflow=dash.quick', topics: 'run:*', since: String(await head()) });

describe('GET /ui/live', () => {
  it('pushes the view rendered again when a run starts, unwrapped, with the seq it shows', async () => {
    const live = await followQuickRuns();
    try {
      assert.equal(live.status, 200);
      const id = await env.start('dash.quick', {});
      for (;;) {
        const view = await live.next('view');
        assert.ok(view, 'a view was pushed');
        assert.doesNotMatch(view.data, /^<div id="view">/, 'the inner HTML of #view');
        assert.ok(Number(view.id) > 0, 'the message names the seq it shows');
        if (view.data.includes(`/ui/runs/${id}`)) break;
      }
    } finally {
      live.close();
    }
  });

  it('shows every run of a burst that goes on while a render is pending, at most one render per 250 ms', async () => {
    // While a render is due the stream sleeps through new events (live-view.ts): what they bring
    // must still be read at the render, and the burst must not add renders.
    const live = await followQuickRuns();
    try {
      const t0 = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push(await env.start('dash.quick', {}));
        await new Promise((r) => setTimeout(r, 40));
      }
      let pushes = 0;
      for (;;) {
        const view = await live.next('view');
        assert.ok(view, `a view showing all 12 runs was pushed (${pushes} pushes so far)`);
        pushes++;
        if (ids.every((id) => view.data.includes(`/ui/runs/${id}`))) break;
      }
      const grid = Math.ceil((Date.now() - t0) / 250) + 1;
      assert.ok(pushes <= grid, `${pushes} pushes in ${Date.now() - t0} ms: at most one per 250 ms`);
    } finally {
      live.close();
    }
  });

  it('reads quietly in its own renders, which no request can pass for (those are audited)', async () => {
    const view = '/ui/runs?workflow=dash.quick&status=completed';
    const audited = async (): Promise<number> =>
      Number(
        (
          await env.runtime.kernel.store.get<{ n: number }>(
            "SELECT COUNT(*) AS n FROM kernel_audit WHERE tenant_id = ? AND action = 'runs.list'",
            [env.tenantId],
          )
        )?.n,
      );
    const live = await openLive({ view, topics: 'run:*', since: String(await head()) });
    try {
      const before = await audited();
      const renders = fragments.stats.renders;
      await env.start('dash.quick', {});
      assert.ok(await live.next('view'), 'a view was pushed');
      assert.ok(fragments.stats.renders > renders, 'the view was rendered, not found cached');
      assert.equal(await audited(), before, "the render's runs.list left no audit entry");
      // An ordinary request naming the header, without this process's value: audited as always.
      const fetched = await admin.get(view, { 'hx-request': 'true', 'x-strata-live-render': 'a-guess' });
      assert.equal(fetched.status, 200);
      assert.equal(await audited(), before + 1, 'the request was audited');
    } finally {
      live.close();
    }
  });

  it('renders what was committed between the page render and the subscription', async () => {
    const since = await head();
    const id = await env.start('dash.quick', {});
    const live = await openLive({ view: '/ui/runs', topics: 'run:*', since: String(since) });
    try {
      const view = await live.next('view');
      assert.ok(view?.data.includes(`/ui/runs/${id}`), 'the run started before the stream is shown');
    } finally {
      live.close();
    }
  });

  it("re-renders a run's page for that run's events only", async () => {
    const mine = await env.start('dash.sleepy', {});
    await env.waitForStatus(mine, 'waiting');
    const live = await openLive({
      view: `/ui/runs/${mine}`,
      topics: 'run:*',
      run: mine,
      since: String(await head()),
    });
    try {
      const other = await env.start('dash.quick', {});
      await env.waitForEnd(other);
      assert.equal(await live.next('view', 800), undefined, "another run's events do not re-render it");
      const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
      await env.runtime.kernel.call('runs.cancel', { runId: mine }, { principal });
      const view = await live.next('view');
      assert.match(view?.data ?? '', /cancelled/);
    } finally {
      live.close();
    }
  });

  it("pushes the needs-you badge's count when an approval is raised", async () => {
    const live = await openLive({ view: '/ui/costs', badge: NEEDS_YOU_TOPICS, since: String(await head()) });
    try {
      const before = (await admin.get('/ui/needs-you/count')).text;
      const run = await env.start('dash.approve', { question: 'Ship it?' });
      await env.pendingApproval(run);
      let count = -1;
      for (let i = 0; i < 5 && count <= (JSON.parse(before) as { count: number }).count; i++) {
        const badge = await live.next('badge');
        count = (JSON.parse(badge?.data ?? '{}') as { count?: number }).count ?? -1;
      }
      assert.equal(
        count,
        (JSON.parse((await admin.get('/ui/needs-you/count')).text) as { count: number }).count,
      );
      assert.equal(await live.next('view', 300), undefined, 'a page without view topics gets no view');
    } finally {
      live.close();
    }
  });

  it('does not write the badge again while its count is unchanged, and writes the new count', async () => {
    const live = await openLive({ view: '/ui/costs', badge: NEEDS_YOU_TOPICS, since: String(await head()) });
    try {
      await env.publishNoise(1); // run:changed: the badge is read again
      const first = await live.next('badge');
      assert.ok(first, 'the first count read is written');
      const renders = () => fragments.stats.hits + fragments.stats.renders;
      const before = renders();
      await env.publishNoise(1);
      await new Promise((resolve) => setTimeout(resolve, 1_300)); // past the badge's once a second
      await env.publishNoise(1);
      assert.equal(await live.next('badge', 1_500), undefined, 'the same count is not written again');
      assert.ok(renders() > before, 'the count was read again all the same');
      const run = await env.start('dash.approve', { question: 'Ship it too?' });
      await env.pendingApproval(run);
      const changed = await live.next('badge');
      assert.notEqual(changed?.data, first.data, 'a changed count is written');
    } finally {
      live.close();
    }
  });

  it("pushes a view with forms without any session's token, so sessions can share it", async () => {
    const other = await env.login(env.adminKey);
    const since = String(await head());
    const lives = [
      await openLive({ view: '/ui', topics: '*', since }),
      await openLive({ view: '/ui', topics: '*', since }, other.cookie),
    ];
    try {
      await env.start('dash.approve', { question: 'Shared render?' });
      for (const live of lives) {
        let view = await live.next('view');
        while (view && !view.data.includes('Shared render?')) view = await live.next('view');
        assert.ok(view, 'the approval row was pushed');
        assert.match(view.data, /name="_csrf" value=""/, 'the decide form, its token left for the page');
        for (const session of [admin, other])
          assert.ok(!view.data.includes(session.csrf), 'no session token');
      }
    } finally {
      for (const live of lives) live.close();
    }
  });

  it('re-renders at once when the gap is too old to replay', async () => {
    const since = await head();
    await env.publishNoise(600);
    const live = await openLive({ view: '/ui/runs', topics: 'run:*', since: String(since) });
    try {
      const view = await live.next('view', 2_000);
      assert.ok(view, 'the view was rendered without any new event');
      assert.ok(Number(view.id) >= since + 600, 'it shows the present');
    } finally {
      live.close();
    }
  });

  it('sends the page to the login when its session expires, then ends', async () => {
    const session = await login(env.runtime.kernel, env.adminKey, { readOnly: false, ttlSeconds: 2 });
    const live = await openLive(
      { view: '/ui/runs', topics: 'run:*', since: String(await head()) },
      `${SESSION_COOKIE}=${session.token}`,
    );
    try {
      assert.equal(live.status, 200);
      await new Promise((r) => setTimeout(r, 2_100));
      await env.start('dash.quick', {});
      const expired = await live.next('expired');
      assert.deepEqual(JSON.parse(expired?.data ?? '{}'), { location: '/ui/login?expired=1' });
      assert.equal(await live.ended(2_000), true);
    } finally {
      live.close();
    }
  });

  it('refuses what is not a view, malformed topics or seqs, and a session that may not read events', async () => {
    const refused = async (query: Record<string, string>, cookie?: string) => {
      const live = await openLive(query, cookie);
      return { status: live.status, text: await live.text() };
    };
    for (const view of [
      '',
      '/v1/runs',
      '/ui/live',
      '/ui/events',
      '/ui/../v1/runs',
      '//evil.example/ui',
      '/ui/runs/x/stream',
    ]) {
      const r = await refused({ view, topics: 'run:*', since: '0' });
      assert.equal(r.status, 400, view);
      assert.match(r.text, /E_INVALID_INPUT/, view);
    }
    const malformed: Record<string, string>[] = [
      { view: '/ui/runs', topics: 'run:*', since: 'yesterday' },
      { view: '/ui/runs', topics: 'Not A Topic', since: '0' },
      { view: '/ui/runs', since: '0' },
    ];
    for (const query of malformed) {
      const r = await refused(query);
      assert.equal(r.status, 400, JSON.stringify(query));
      assert.match(r.text, /E_INVALID_INPUT/);
    }
    const narrow = await env.login(
      await env.key([
        { syscall: 'runs.list', resource: '*' },
        { syscall: 'kernel.tokens.issue', resource: '*' },
      ]),
    );
    const denied = await refused({ view: '/ui/runs', topics: 'run:*', since: '0' }, narrow.cookie);
    assert.equal(denied.status, 403);
    assert.match(denied.text, /E_CAPABILITY_DENIED/);
  });
});
