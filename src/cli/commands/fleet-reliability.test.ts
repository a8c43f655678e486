// `strata fleet reliability`'s table from a report (the syscall's output, as the orchestration
// layer's reliability test builds it from a real store): a layer's row with its faults and the
// mechanisms that recovered them, the other failures by code, the end-to-end line, and the
// invariants, one of them not checked.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { reliabilityReportSchema } from '../../orchestration/reliability/schema.ts';
import { renderReliability } from './fleet-reliability.ts';

const none = { retry: 0, fallback: 0, restart: 0, takeover: 0, human: 0 };
const layer = (name: string, fields: Record<string, unknown>) => ({
  layer: name,
  syscalls: 0,
  ok: 0,
  failed: 0,
  denied: 0,
  throttled: 0,
  faultsInjected: 0,
  faultsByKind: {},
  faultedCalls: 0,
  failedAfterFault: 0,
  recovered: none,
  unrecovered: 0,
  pending: 0,
  unattributed: 0,
  failedWithoutFault: {},
  successRaw: null,
  successWithStrata: null,
  ...fields,
});

const report = reliabilityReportSchema.parse({
  tenantId: 'ten_1',
  sinceMs: null,
  generatedAt: 1,
  layers: [
    layer('tools', {
      syscalls: 5,
      ok: 2,
      failed: 3,
      faultsInjected: 3,
      faultedCalls: 3,
      failedAfterFault: 3,
      recovered: { ...none, retry: 1, human: 1 },
      unrecovered: 1,
      successRaw: 0.4,
      successWithStrata: 0.4,
    }),
    layer('compute', {
      syscalls: 3,
      ok: 1,
      failed: 2,
      failedWithoutFault: { E_CONFLICT: 2 },
      successRaw: 1 / 3,
    }),
  ],
  mechanisms: { ...none, retry: 1, human: 1 },
  endToEnd: {
    layersUsed: ['tools', 'compute'],
    predictedRaw: 0.4 / 3,
    perCallRaw: 0.375,
    callsPerTask: 4,
    predictedRawPerTask: 0.375 ** 4,
    measuredWithoutMechanisms: null,
    measuredWithMechanisms: 0.5,
    tasks: { total: 3, completed: 1, failed: 1, live: 1 },
  },
  timeToRecoverMs: { calls: { p50: 12.4, p95: 40.6, max: 41 }, runs: null, takeovers: null, all: null },
  recoveryCost: {
    retriedCalls: 1,
    retriedCallsMs: 12.4,
    restartedRuns: 0,
    restartedRunsMs: 0,
    restartedRunsCostMicros: 0,
    approximations: [],
  },
  invariants: {
    budget: {
      checked: false,
      holds: true,
      reason: 'billing is not open',
      periods: 0,
      exceeded: 0,
      softOver: 0,
    },
    duplicatedSideEffects: { checked: true, holds: true, checkedMails: 4, duplicates: 0 },
    auditChain: { checked: true, holds: true, entries: 20, headHash: 'ab'.repeat(32) },
    mainGreen: { checked: true, holds: false, merges: 3, notGreen: 1 },
    allHold: false,
  },
  truncated: false,
});

it('renders each layer, the other failures by code, the end-to-end rates and the invariants', () => {
  const table = renderReliability(report);
  assert.match(
    table,
    /^layer\s+calls\s+faults\s+retry\s+fallbk\s+restart\s+takeovr\s+human\s+unrecov\s+raw\s+strata$/m,
  );
  assert.match(table, /^tools\s+5\s+3\s+1\s+0\s+0\s+0\s+1\s+1\s+40\.0%\s+40\.0%$/m);
  assert.match(table, /^compute\s+3\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+33\.3%\s+-$/m);
  assert.match(table, /^failed with no fault \(by code\): compute E_CONFLICT 2$/m);
  assert.match(table, /measured with mechanisms\s+50\.0% \(1 of 2 finished tasks; 1 live\)/);
  assert.match(table, /predicted raw per task \(r\^N\)\s+2\.0% \(r 37\.5%, N 4\.0\)/);
  assert.match(table, /time to recover: calls p50 12 ms, p95 41 ms; runs -; takeovers -/);
  assert.match(table, /budget never exceeded\s+not checked \(billing is not open\)/);
  assert.match(table, /audit chain verified\s+holds \(20 entries, head abababababababab\)/);
  assert.match(table, /main green at merges\s+BROKEN \(3 merges, 1 not green\)/);
  assert.doesNotMatch(table, /bounded scan/);
});
