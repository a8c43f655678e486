// The engine's rules one by one, with hand-driven check results: flake retry, bisection to the
// culprit with the innocents re-verified, speculation letting main jump, cancel, conflict,
// dependency cascade, pause, and bad input refused with stable codes and nothing changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withCode } from '../testkit/stores.ts';
import { QueueEngine } from './engine.ts';
import type { CheckRequest, Transition } from './types.ts';

const queue = (
  ids: string[],
  options: ConstructorParameters<typeof QueueEngine>[0] = {},
): { engine: QueueEngine; log: Transition[] } => {
  const log: Transition[] = [];
  const engine = new QueueEngine({ onTransition: (t) => log.push(t), ...options });
  for (const id of ids) engine.submit({ id, author: 'agent-1' });
  return { engine, log };
};

/** Runs every requested check until none is left; `red` decides each outcome. */
const drain = (
  engine: QueueEngine,
  red: (request: CheckRequest, attempt: number) => boolean,
): CheckRequest[] => {
  const seen: CheckRequest[] = [];
  const tries = new Map<string, number>();
  for (let batch = engine.next(); batch.length > 0; batch = engine.next()) {
    for (const request of batch) {
      const key = request.tree.join();
      const attempt = (tries.get(key) ?? 0) + 1;
      tries.set(key, attempt);
      seen.push(request);
      engine.report(request.id, red(request, attempt) ? 'fail' : 'pass');
    }
  }
  return seen;
};

void describe('merge queue engine', () => {
  it('retries a failing batch once: a pass on retry merges it and counts a flake', () => {
    const { engine, log } = queue(['a', 'b']);
    const checks = drain(engine, (_r, attempt) => attempt === 1);
    assert.deepEqual(
      checks.map((c) => c.purpose),
      ['batch', 'retry'],
    );
    assert.equal(engine.entry('a').state, 'merged');
    assert.equal(engine.stats().flakes, 1);
    assert.deepEqual(
      log.filter((t) => t.entryId === 'a').map((t) => `${t.from}>${t.to}`),
      ['queued>testing', 'testing>merged'],
    );
    assert.match(log.at(-1)?.reason ?? '', /main advanced to the tree of check c2/);
  });

  it('bisects a batch that failed twice, rejects the culprit and re-verifies the innocents together', () => {
    const { engine } = queue(['a', 'b', 'c', 'd'], { batch: { min: 1, max: 4 } });
    const checks = drain(engine, (r) => r.tree.includes('c'));
    assert.equal(engine.entry('c').state, 'rejected');
    assert.match(engine.entry('c').reason, /culprit/);
    assert.ok(engine.entry('c').failedCheck);
    for (const id of ['a', 'b', 'd']) assert.equal(engine.entry(id).state, 'merged', id);
    const last = checks.at(-1) as CheckRequest;
    assert.deepEqual([last.purpose, last.tree], ['batch', ['a', 'b', 'd']]);
    // batch + retry + probe [a,b] (pass) + probe [c] (fail, retry) + re-verify: 2⌈log₂4⌉+2 after the batch.
    assert.equal(checks.length, 6);
    assert.deepEqual(engine.stats().culprits, ['c']);
    assert.equal(engine.version, 1);
  });

  it('speculates: a later batch passing first moves main straight to its tree', () => {
    const { engine } = queue(['a', 'b', 'c', 'd'], { batch: { min: 1, max: 2 }, jumpAhead: true });
    const [first, second] = engine.next();
    assert.deepEqual(second?.base, { check: first?.id });
    assert.deepEqual(second?.tree, ['a', 'b', 'c', 'd']);
    const advances = engine.report(second?.id, 'pass');
    assert.deepEqual(advances, [{ check: second?.id, from: 0, to: 1, merged: ['a', 'b', 'c', 'd'] }]);
    assert.equal(engine.isLive(first?.id as string), false);
    assert.deepEqual(engine.report(first?.id as string, 'pass'), []);
    assert.equal(engine.stats().superseded, 1);
  });

  it('in order (the default): a later pass waits for the batches ahead, so every main commit was checked', () => {
    const { engine } = queue(['a', 'b', 'c', 'd'], { batch: { min: 1, max: 2 } });
    const [first, second] = engine.next();
    assert.deepEqual(engine.report(second?.id as string, 'pass'), []);
    const advances = engine.report(first?.id as string, 'pass');
    assert.deepEqual(
      advances.map((a) => [a.check, a.from, a.to, a.merged.join()]),
      [
        [first?.id, 0, 1, 'a,b'],
        [second?.id, 1, 2, 'c,d'],
      ],
    );
  });

  it('a confirmed failure at the head throws away the speculative batches behind it', () => {
    const { engine } = queue(['a', 'b', 'c', 'd'], { batch: { min: 1, max: 2 } });
    const [first, second] = engine.next();
    engine.report(second?.id as string, 'fail');
    engine.report(first?.id as string, 'fail');
    const [retry] = engine.next();
    assert.equal(retry?.purpose, 'retry');
    engine.report(retry?.id, 'fail');
    assert.equal(engine.stats().discarded, 1);
    assert.equal(engine.entry('c').state, 'queued');
    assert.match(engine.entry('c').reason, /a batch ahead failed/);
    const next = engine.next();
    assert.deepEqual(
      next.map((r) => [r.purpose, r.tree.join()]),
      [
        ['bisect', 'a'],
        ['batch', 'c,d'],
      ],
    );
  });

  it('cancels, turns conflicts into rework and cascades to dependents', () => {
    const engine = new QueueEngine({ batch: { min: 1, max: 3 } });
    engine.submit({ id: 'a', author: 'x' });
    engine.submit({ id: 'b', author: 'x', dependsOn: ['a'] });
    engine.submit({ id: 'c', author: 'y' });
    engine.submit({ id: 'd', author: 'y' });
    engine.cancel('d', 'author withdrew it');
    assert.equal(engine.entry('d').state, 'cancelled');
    const [check] = engine.next();
    assert.deepEqual(check?.tree, ['a', 'b', 'c']);
    engine.conflict(check?.id, 'a', ['src/app.js']);
    assert.equal(engine.entry('a').state, 'needs_rework');
    assert.match(engine.entry('a').reason, /src\/app\.js/);
    assert.equal(engine.entry('b').state, 'needs_rework');
    assert.match(engine.entry('b').reason, /depends on a/);
    drain(engine, () => false);
    assert.equal(engine.entry('c').state, 'merged');
  });

  it('pause stops new batches; resume starts them', () => {
    const { engine } = queue(['a']);
    engine.pause();
    assert.deepEqual(engine.next(), []);
    assert.equal(engine.headOfLine()?.why, 'queue paused');
    engine.resume();
    assert.equal(engine.next().length, 1);
  });

  it('refuses bad input with stable codes and changes nothing', () => {
    const { engine } = queue(['a']);
    assert.throws(() => engine.submit({ id: 'a', author: 'x' }), withCode('E_CONFLICT'));
    assert.throws(
      () => engine.submit({ id: 'z', author: 'x', dependsOn: ['nope'] }),
      withCode('E_NOT_FOUND'),
    );
    assert.equal(engine.has('z'), false);
    assert.throws(() => new QueueEngine({ batch: { min: 3, max: 2 } }), withCode('E_INVALID_INPUT'));
    assert.throws(() => engine.cancel('nope', 'x'), withCode('E_NOT_FOUND'));
    drain(engine, () => false);
    assert.throws(() => engine.cancel('a', 'too late'), withCode('E_CONFLICT'));
    assert.equal(engine.entry('a').state, 'merged');
  });
});
