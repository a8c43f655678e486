/**
 * @module kernel/chaos/syscalls
 * `chaos.status` (the configuration in force, whether chaos is active — a dashboard shows a banner
 * while it is — open outages, and faults injected since start by layer and kind) and `chaos.set`
 * (enable, disable or change the rules at run time). The injector is the process's, not a tenant's:
 * `chaos.set` faults every tenant's calls, so it is for operators only — an API key holding a grant
 * on `chaos.set`, never an agent nor a capability token — and, like every syscall, it is audited.
 * `chaos.*` calls are never faulted themselves, so chaos can always be turned off.
 */
import { z } from 'zod';
import { StrataError } from '../errors.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../syscalls/define.ts';
import { chaosOutageSchema, chaosRuleSchema, chaosSchema } from './config.ts';
import type { ChaosInjector } from './injector.ts';

const statusOutput = z.object({
  enabled: z.boolean(),
  mode: z.enum(['development', 'production']),
  config: z.record(z.string(), z.unknown()),
  since: z.number(),
  openOutages: z.array(z.string()),
  faults: z.array(z.object({ layer: z.string(), kind: z.string(), count: z.number().int() })),
  total: z.number().int(),
});

/** Fields left out keep their current value; `rules` and `outages` replace the lists whole. */
const setInput = z
  .object({
    enabled: z.boolean().optional(),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    force: z.boolean().optional(),
    rules: z.array(chaosRuleSchema).max(100).optional(),
    outages: z.array(chaosOutageSchema).max(100).optional(),
    killWorkerAfterMs: z.number().int().positive().nullable().optional(),
  })
  .strict();

export function chaosSyscalls(injector: ChaosInjector): SyscallDefinition<unknown, unknown>[] {
  const status = (): z.infer<typeof statusOutput> => {
    const s = injector.status();
    return { ...s, config: { ...s.config }, openOutages: [...s.openOutages], faults: [...s.faults] };
  };
  return [
    erase(
      defineSyscall({
        name: 'chaos.status',
        description:
          'Fault injection: whether it is active, its configuration, open outages and faults injected by layer and kind.',
        input: z.object({}).strict(),
        output: statusOutput,
        idempotency: 'pure',
        resource: () => 'kernel/chaos',
        handler: status,
      }),
    ),
    erase(
      defineSyscall({
        name: 'chaos.set',
        description:
          'Enables, disables or changes fault injection for this server (operators’ API keys only; refused in production mode unless force).',
        input: setInput,
        output: statusOutput,
        idempotency: 'idempotent',
        resource: () => 'kernel/chaos',
        handler: (input, { principal }) => {
          if (principal.kind !== 'api_key' || principal.tokenJti !== undefined)
            throw new StrataError(
              'E_CAPABILITY_DENIED',
              'chaos.set is for operators: call it with an API key, not as an agent or with a token',
              { syscall: 'chaos.set' },
            );
          const { killWorkerAfterMs, ...rest } = input;
          const current = injector.config;
          const next = chaosSchema.parse({
            ...current,
            ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
            killWorkerAfterMs:
              killWorkerAfterMs === null ? undefined : (killWorkerAfterMs ?? current.killWorkerAfterMs),
          });
          injector.set(next);
          return status();
        },
      }),
    ),
  ];
}
