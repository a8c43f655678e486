/**
 * @module orchestration/reliability/syscall
 * `fleet.reliability`: the reliability report of the caller's tenant (report.ts; its shape in
 * schema.ts), optionally over the last `sinceMs` milliseconds. Read-only and tenant-scoped like
 * `fleet.report`, on resource `runs`. The audit chain is verified through `kernel.audit.verify`
 * called as the caller, so a caller without that grant gets the report with the chain unchecked.
 */
import { isStrataError } from '../../kernel/index.ts';
import type { Principal } from '../../kernel/index.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import type { AuditChainCheck } from './invariants.ts';
import { reliabilityReport } from './report.ts';
import { reliabilityInputSchema, reliabilityReportSchema } from './schema.ts';

type Verdict = {
  ok: boolean;
  entries: number;
  headHash: string;
  firstBad?: { seq: number; problem: string };
};

async function verifyChain(engine: Engine, principal: Principal): Promise<AuditChainCheck> {
  try {
    const v = await engine.kernel.call<Verdict>('kernel.audit.verify', {}, { principal });
    return {
      checked: true,
      holds: v.ok,
      entries: v.entries,
      headHash: v.headHash,
      ...(v.firstBad ? { reason: `entry ${v.firstBad.seq} is ${v.firstBad.problem}` } : {}),
    };
  } catch (error) {
    if (!isStrataError(error) || error.code !== 'E_CAPABILITY_DENIED') throw error;
    return {
      checked: false,
      holds: true,
      reason: 'the caller may not verify the audit chain',
      entries: 0,
      headHash: null,
    };
  }
}

export function reliabilitySyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.reliability',
      description:
        'Reliability of the tenant: per layer syscalls, faults injected, recovered by retry/fallback/restart/takeover/human, unrecovered, success raw vs with Strata; end-to-end compound rates; time to recover; invariants.',
      input: reliabilityInputSchema,
      output: reliabilityReportSchema,
      idempotency: 'pure',
      timeoutMs: 120_000,
      resource: () => 'runs',
      handler: async (input, ctx) => {
        const now = ctx.clock.now();
        const { sinceMs, ...rest } = input;
        return reliabilityReport(engine.store, ctx.tenantId, {
          ...rest,
          now,
          ...(sinceMs === undefined ? {} : { sinceMs: now - sinceMs }),
          auditChain: await verifyChain(engine, ctx.principal),
        });
      },
    }),
  );
}
