// Supervisor specifications OTP refuses (and a cycle, which durable runs cannot have) fail at
// definition with E_INVALID_INPUT, before anything runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withCode } from '../../testkit/stores.ts';
import { parseIncarnationKey, incarnationKey } from './spec.ts';
import { defineSupervisor } from './supervisor.ts';

const worker = { name: 'spec-test.worker', version: 1 };
const base = { version: 1, strategy: 'one_for_one' as const };

describe('supervisor specifications', () => {
  it('refuses what OTP refuses', () => {
    const bad = [
      { name: 'spec-test.a', ...base, children: [] },
      { name: 'spec-test.b', ...base, intensity: -1, children: [{ id: 'w', workflow: worker, input: {} }] },
      { name: 'spec-test.c', ...base, periodMs: 0, children: [{ id: 'w', workflow: worker, input: {} }] },
      {
        name: 'spec-test.d',
        ...base,
        children: [
          { id: 'w', workflow: worker, input: {} },
          { id: 'w', workflow: worker, input: {} },
        ],
      },
      // significant needs auto_shutdown, and never on a permanent child
      {
        name: 'spec-test.e',
        ...base,
        children: [
          { id: 'w', workflow: worker, input: {}, restart: 'transient' as const, significant: true },
        ],
      },
      {
        name: 'spec-test.f',
        ...base,
        autoShutdown: 'any_significant' as const,
        children: [{ id: 'w', workflow: worker, input: {}, significant: true }],
      },
      {
        name: 'spec-test.g',
        version: 1,
        strategy: 'simple_one_for_one' as const,
        children: [{ id: 'w', workflow: worker, input: {} }],
      },
      {
        name: 'spec-test.h',
        version: 1,
        strategy: 'simple_one_for_one' as const,
        autoShutdown: 'any_significant' as const,
        childSpec: { workflow: worker },
      },
      { name: 'spec-test.i', ...base, children: [{ id: 'Bad Id', workflow: worker, input: {} }] },
      { name: 'spec-test.j', ...base, children: [{ id: 'w', workflow: worker, input: {}, shutdownMs: -5 }] },
    ];
    for (const spec of bad)
      assert.throws(() => defineSupervisor(spec), withCode('E_INVALID_INPUT'), spec.name);
  });

  it('refuses a cycle: a supervisor that (transitively) supervises itself', () => {
    assert.throws(
      () =>
        defineSupervisor({
          name: 'spec-test.self',
          ...base,
          children: [{ id: 'me', workflow: { name: 'spec-test.self', version: 1 }, input: {} }],
        }),
      withCode('E_INVALID_INPUT'),
    );
    const outer = defineSupervisor({
      name: 'spec-test.outer',
      ...base,
      children: [{ id: 'w', workflow: worker, input: {} }],
    });
    const middle = defineSupervisor({
      name: 'spec-test.middle',
      ...base,
      children: [{ id: 'o', workflow: outer, input: {} }],
    });
    assert.throws(
      () =>
        defineSupervisor({
          name: 'spec-test.outer',
          version: 2,
          strategy: 'one_for_one',
          children: [{ id: 'm', workflow: middle, input: {} }],
        }),
      withCode('E_INVALID_INPUT'),
    );
  });

  it('names incarnations in idempotency keys and reads them back', () => {
    const key = incarnationKey('run_abc', 7, 'agent-3');
    assert.deepEqual(parseIncarnationKey(key), {
      supervisorRunId: 'run_abc',
      incarnation: 7,
      childId: 'agent-3',
    });
    assert.equal(parseIncarnationKey('user-key'), undefined);
    assert.equal(parseIncarnationKey(null), undefined);
  });
});
