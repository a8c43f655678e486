// The OTP matrix on the pure decision module: 4 strategies × 3 restart types × {normal exit,
// abnormal exit, exit caused by a sibling}, each against OTP's documented outcome; intensity
// exceeded stops the children in reverse order; significant children and auto_shutdown; the
// breaker and backoff never change what OTP decides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guard, release, restartDelay, CLOSED_BREAKER } from './breaker.ts';
import {
  decide,
  initialStart,
  type Action,
  type ChildSlot,
  type RestartType,
  type Strategy,
  type SupervisorFlags,
} from './decide.ts';

const STRATEGIES: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const TYPES: RestartType[] = ['permanent', 'transient', 'temporary'];

const flags = (strategy: Strategy, more: Partial<SupervisorFlags> = {}): SupervisorFlags => ({
  strategy,
  intensity: 3,
  periodMs: 300_000,
  autoShutdown: 'never',
  ...more,
});

const slot = (id: string, restart: RestartType, significant = false): ChildSlot => ({
  id,
  restart,
  significant,
  incarnation: 0,
  running: false,
});

/** a, b, c started in that order; b is the child under test (all alike under simple_one_for_one). */
function tree(strategy: Strategy, type: RestartType) {
  const other = strategy === 'simple_one_for_one' ? type : 'permanent';
  return initialStart([slot('a', other), slot('b', type), slot('c', other)]).state;
}

const show = (actions: readonly Action[]): string[] =>
  actions.map((a) => (a.type === 'shutdown' ? `shutdown:${a.reason}` : `${a.type}:${a.childId}`));

/** OTP's documented outcome, as the actions a supervisor takes. */
function expected(strategy: Strategy, type: RestartType, event: 'normal' | 'abnormal' | 'sibling'): string[] {
  const failed = event === 'sibling' ? 'a' : 'b';
  const failedType = event === 'sibling' ? (strategy === 'simple_one_for_one' ? type : 'permanent') : type;
  const restarts = failedType === 'permanent' || (failedType === 'transient' && event !== 'normal');
  if (!restarts) return []; // not restarted: no sibling is touched, whatever the strategy
  switch (strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return [`start:${failed}`];
    case 'one_for_all': {
      // others terminated last-first; all restarted first-first, except terminated temporary ones
      const terminated = ['c', 'b', 'a'].filter((id) => id !== failed).map((id) => `terminate:${id}`);
      const restarted = ['a', 'b', 'c'].filter((id) => id === failed || id !== 'b' || type !== 'temporary');
      return [...terminated, ...restarted.map((id) => `start:${id}`)];
    }
    case 'rest_for_one': {
      const rest = failed === 'a' ? ['b', 'c'] : ['c'];
      const restarted = [failed, ...rest].filter((id) => id === failed || id !== 'b' || type !== 'temporary');
      return [...[...rest].reverse().map((id) => `terminate:${id}`), ...restarted.map((id) => `start:${id}`)];
    }
  }
}

describe('OTP matrix: strategy × restart type × exit', () => {
  for (const strategy of STRATEGIES)
    for (const type of TYPES)
      for (const event of ['normal', 'abnormal', 'sibling'] as const) {
        it(`${strategy}, ${type} child, ${event === 'sibling' ? 'a sibling fails' : `${event} exit`}`, () => {
          const state = tree(strategy, type);
          const childId = event === 'sibling' ? 'a' : 'b';
          const reason = event === 'normal' ? 'normal' : 'abnormal';
          const decision = decide(flags(strategy), state, { childId, reason, at: 1_000 });
          assert.deepEqual(show(decision.actions), expected(strategy, type, event));
          const b = decision.state.children.find((c) => c.id === 'b');
          const bTerminatedBySibling = show(decision.actions).includes('terminate:b');
          if (type === 'temporary' && (event !== 'sibling' || bTerminatedBySibling)) {
            assert.equal(b, undefined, 'a temporary child that ended is removed, never restarted');
          } else if (show(decision.actions).includes('start:b')) {
            assert.deepEqual([b?.running, b?.incarnation], [true, 2], 'restarted as a new incarnation');
          } else if (event === 'sibling') {
            assert.deepEqual([b?.running, b?.incarnation], [true, 1], 'untouched by the sibling');
          }
          assert.equal(
            decision.restarted,
            show(decision.actions).some((a) => a.startsWith('start:')),
          );
        });
      }
});

describe('restart intensity', () => {
  it('counts one per restart decision within the period; one more stops every child, last started first', () => {
    let state = tree('one_for_all', 'permanent');
    const f = flags('one_for_all', { intensity: 2, periodMs: 10_000 });
    for (const at of [1_000, 2_000]) {
      const d = decide(f, state, { childId: 'b', reason: 'abnormal', at });
      assert.equal(d.actions.at(-1)?.type, 'start');
      state = d.state;
    }
    assert.deepEqual(state.restarts, [1_000, 2_000], 'a one_for_all restart of 3 children counts once');
    const third = decide(f, state, { childId: 'b', reason: 'abnormal', at: 3_000 });
    assert.deepEqual(show(third.actions), ['terminate:c', 'terminate:a', 'shutdown:intensity']);
  });

  it('forgets restarts older than the period', () => {
    let state = tree('one_for_one', 'permanent');
    const f = flags('one_for_one', { intensity: 1, periodMs: 5_000 });
    state = decide(f, state, { childId: 'a', reason: 'abnormal', at: 1_000 }).state;
    const later = decide(f, state, { childId: 'a', reason: 'abnormal', at: 7_000 });
    assert.deepEqual(show(later.actions), ['start:a']);
    assert.deepEqual(later.state.restarts, [7_000]);
    const soon = decide(f, later.state, { childId: 'a', reason: 'abnormal', at: 8_000 });
    assert.deepEqual(show(soon.actions), ['terminate:c', 'terminate:b', 'shutdown:intensity']);
  });

  it('intensity 0 stops the supervisor at the first restart', () => {
    const d = decide(flags('one_for_one', { intensity: 0 }), tree('one_for_one', 'permanent'), {
      childId: 'c',
      reason: 'normal',
      at: 1,
    });
    assert.deepEqual(show(d.actions), ['terminate:b', 'terminate:a', 'shutdown:intensity']);
  });
});

describe('significant children and auto_shutdown', () => {
  const group = (mode: 'any_significant' | 'all_significant') => ({
    f: flags('one_for_one', { autoShutdown: mode }),
    state: initialStart([
      slot('lead', 'permanent'),
      slot('w1', 'transient', true),
      slot('w2', 'temporary', true),
    ]).state,
  });

  it('any_significant: the first significant child that ends by itself ends the task group', () => {
    const { f, state } = group('any_significant');
    const d = decide(f, state, { childId: 'w1', reason: 'normal', at: 1 });
    assert.deepEqual(show(d.actions), ['terminate:w2', 'terminate:lead', 'shutdown:auto_shutdown']);
  });

  it('all_significant: only when the last significant child has ended', () => {
    const { f, state } = group('all_significant');
    const first = decide(f, state, { childId: 'w2', reason: 'abnormal', at: 1 });
    assert.deepEqual(show(first.actions), [], 'a temporary significant child ending is not restarted');
    const last = decide(f, first.state, { childId: 'w1', reason: 'normal', at: 2 });
    assert.deepEqual(show(last.actions), ['terminate:lead', 'shutdown:auto_shutdown']);
  });

  it('a transient significant child that fails is restarted, not a shutdown', () => {
    const { f, state } = group('any_significant');
    assert.deepEqual(show(decide(f, state, { childId: 'w1', reason: 'abnormal', at: 1 }).actions), [
      'start:w1',
    ]);
  });

  it('a significant child terminated by the supervisor does not end the group', () => {
    const f = flags('one_for_all', { autoShutdown: 'any_significant' });
    const state = initialStart([slot('lead', 'permanent'), slot('w', 'transient', true)]).state;
    const d = decide(f, state, { childId: 'lead', reason: 'abnormal', at: 1 });
    assert.deepEqual(show(d.actions), ['terminate:w', 'start:lead', 'start:w']);
  });
});

describe('stale exits and extras beyond OTP', () => {
  it('an exit of a child that is not running changes nothing', () => {
    const state = tree('one_for_all', 'permanent');
    const stopped = decide(flags('one_for_all'), state, { childId: 'zz', reason: 'abnormal', at: 1 });
    assert.equal(stopped.stale, true);
    assert.equal(stopped.state, state);
  });

  it('backoff doubles from the second restart in the period and is capped', () => {
    const p = { baseMs: 1_000, maxMs: 5_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => restartDelay(p, n)),
      [0, 1_000, 2_000, 4_000, 5_000],
    );
  });

  it('the breaker holds restarts after 3 deaths in 30 s, counts intensity as OTP, and releases after its cooldown', () => {
    const policy = {
      backoff: { baseMs: 0, maxMs: 0 },
      breaker: { deaths: 3, windowMs: 30_000, cooldownMs: 60_000 },
    };
    const f = flags('one_for_one', { intensity: 10 });
    let state = tree('one_for_one', 'permanent');
    let breaker = CLOSED_BREAKER;
    let opened;
    for (const [childId, at] of [
      ['a', 1_000],
      ['b', 2_000],
      ['c', 3_000],
    ] as const) {
      const g = guard(policy, breaker, decide(f, state, { childId, reason: 'abnormal', at }), {
        reason: 'abnormal',
        at,
      });
      state = g.state;
      breaker = g.breaker;
      opened = g.opened ?? opened;
      if (childId !== 'c') assert.deepEqual(show(g.actions), [`start:${childId}`]);
      else assert.deepEqual(show(g.actions), [], 'the third death is held');
    }
    assert.deepEqual(opened, { until: 63_000, deaths: 3 });
    assert.equal(state.restarts.length, 3, 'intensity counted every restart decision');
    assert.equal(release(state, breaker, 62_999), undefined);
    const released = release(state, breaker, 63_000);
    assert.deepEqual(show(released?.actions ?? []), ['start:c']);
    assert.equal(released?.state.children.find((c) => c.id === 'c')?.incarnation, 2);
  });
});
