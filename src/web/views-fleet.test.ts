// The Fleet, Supervision tree, Merge queue and Costs views over HTTP, on a real server and runtime
// (SQLite and PostgreSQL) seeded through real syscalls (test/dashboard-fleet-seed.ts): a supervisor
// with a restarted and a failed child, a priced model and tool metered to its run tree under a
// tenant budget, a merge queue over real git with a merged change, a culprit and a stop. Each view
// shows its data; the stopped queue is resumed from its one-click form once main is repaired; a
// read-only session sees every view and no action form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seedFleet, type FleetSeed } from '../../test/dashboard-fleet-seed.ts';
import type { Browser } from './testing.ts';

/** The text of the element holding `data-<attr>="<value>"` up to its closing tag. */
const rowOf = (text: string, attr: string, value: string): string => {
  const start = text.indexOf(`data-${attr}="${value}"`);
  assert.ok(start >= 0, `no ${attr} ${value}`);
  return text.slice(start, text.indexOf('</tr>', start));
};

for (const dialect of ['sqlite', 'postgres'] as const)
  describe(dialect, () => {
    let seed: FleetSeed;
    let admin: Browser;
    before(async () => {
      seed = await seedFleet({ dialect });
      admin = await seed.env.login(seed.env.adminKey);
    });
    after(() => seed.close());

    const view = async (path: string, who: Browser = admin): Promise<string> => {
      const page = await who.get(path);
      assert.equal(page.status, 200, `${path}: ${page.text.slice(0, 500)}`);
      return page.text;
    };

    describe('fleet', () => {
      it('shows runs by status, agents by state, success per layer, workers and the budget', async () => {
        const text = await view('/ui/fleet');
        assert.match(text, /<h2>Agents<\/h2>/);
        assert.match(text, /live supervised agents by state/);
        assert.match(
          text,
          /<td>waiting<\/td>\s*<td class="num">2<\/td>/,
          'two children wait (steady, flaky)',
        );
        assert.match(text, /completed\/s/);
        assert.match(
          rowOf(text, 'layer', 'tools'),
          /<td class="num">100\.0%<\/td>/,
          'tools calls all succeeded',
        );
        assert.match(text, /live workers/);
        assert.match(
          text,
          /<meter[^>]*aria-label="tenant budget: 0\.6% used"/,
          'the model call and the two priced tool calls, held then spent',
        );
        assert.match(text, /0\.006 of 1\.00 USD \(0\.6%\)/);
      });
    });

    describe('supervision tree', () => {
      it('nests the children with incarnation, restarts and error code, and links each run', async () => {
        const text = await view('/ui/tree');
        assert.match(text, new RegExp(`<h2>dash\\.team <code>${seed.team}</code>`));
        assert.match(
          text,
          /<li data-run="run_[^"]+">\s*<strong>root<\/strong>[\s\S]*<ul>\s*<li/,
          'nested lists',
        );
        assert.match(
          text,
          /<strong>flaky<\/strong>[\s\S]*?incarnation<\/span> 2\s*<span class="muted">restarts<\/span> 1/,
        );
        assert.match(text, /<strong>oneshot<\/strong>[\s\S]*?status-failed[\s\S]*?E_CONFLICT/);
        assert.match(text, /strategy<\/span> one_for_one/);
        assert.match(text, new RegExp(`href="/ui/runs/${seed.team}"`));
        const one = await view(`/ui/tree?run=${seed.team}`);
        assert.match(one, /Every running supervisor/);
        const unknown = await admin.get('/ui/tree?run=run_nope');
        assert.equal(unknown.status, 404);
        assert.match(unknown.text, /E_NOT_FOUND/);
      });
    });

    describe('merge queue', () => {
      it('shows the culprit with its reason, the green history with its check, and the stop', async () => {
        const text = await view('/ui/mq');
        assert.match(text, /<h2 id="mq-app">Queue app<\/h2>/);
        assert.match(rowOf(text, 'entry', seed.rejected), /feat-broken[\s\S]*rejected[\s\S]*check <code>/);
        assert.match(rowOf(text, 'merged', seed.merged), /feat-ok[\s\S]*<code>mqc_[^<]+<\/code> \w+, pass/);
        assert.match(text, /Stopped <time[\s\S]*E_NOT_FAST_FORWARD/);
        assert.match(text, /bisections/);
        assert.match(text, /<button type="submit" class="">Resume queue app<\/button>/);
      });

      it('resumes the stopped queue from its form once main is back where the queue left it', async () => {
        const form = { syscall: 'mq.resume', input: JSON.stringify({ queue: 'app' }), back: '/ui/mq' };
        const refused = await admin.post('/ui/act', form);
        assert.match(refused.headers.get('location') ?? '', /error=E_NOT_FAST_FORWARD/);
        seed.restoreMain();
        const res = await admin.post('/ui/act', form);
        assert.equal(res.status, 303);
        assert.match(res.headers.get('location') ?? '', /done=mq\.resume/);
        const resumed = await view('/ui/mq');
        assert.doesNotMatch(resumed, /Resume queue app/);
        assert.match(
          resumed,
          /<dt>Speculation<\/dt>\s*<dd>window \d+, next batch of \d+/,
          'the worker it opened',
        );
      });
    });

    describe('costs', () => {
      it('shows spend per run tree, tool and agent, cost per completed task, and budgets with a meter', async () => {
        const text = await view('/ui/costs');
        // The model call (4 tokens in at 100 µ$, 3 out at 200 µ$) and the tool twice at 2,500 µ$.
        assert.match(rowOf(text, 'group', seed.spend), /dash\.spend[\s\S]*<td class="num">0\.006<\/td>/);
        assert.match(text, /Cost per completed task<\/dt>\s*<dd>\s*0\.006 USD/);
        assert.match(
          rowOf(await view('/ui/costs?by=tool'), 'group', 'dash.lookup'),
          /<td class="num">2<\/td>/,
        );
        assert.match(await view('/ui/costs?by=agent'), new RegExp(seed.env.adminKeyId));
        assert.match(
          rowOf(await view('/ui/costs?by=model'), 'group', 'scripted/m1'),
          /<td class="num">0\.001<\/td>/,
        );
        // The budget holds what the run tree spent: the tool's price counts too.
        assert.match(text, /<meter[^>]*aria-label="tenant budget: 0\.6% used"/);
        assert.match(text, /<td class="num">0\.994<\/td>/, 'available after the spend');
        const bad = await admin.get('/ui/costs?by=colour');
        assert.equal(bad.status, 400);
        assert.match(bad.text, /E_INVALID_INPUT/);
      });
    });

    describe('read-only session', () => {
      it('sees every view with its data and no action form', async () => {
        const reader = await seed.env.login(seed.env.adminKey, { readOnly: true });
        assert.match(await view('/ui/fleet', reader), /tools/);
        assert.match(await view('/ui/tree', reader), /dash\.team/);
        assert.match(await view('/ui/mq', reader), /feat-broken/);
        assert.match(await view('/ui/costs', reader), /dash\.spend/);
        assert.doesNotMatch(await view('/ui/mq', reader), /action="\/ui\/act"/);
      });
    });
  });
