/**
 * @module cli/commands/chaos
 * `strata chaos status|enable|disable`: fault injection on a running server, through the
 * `chaos.status` and `chaos.set` syscalls (operators' API keys only; audited). The injector lives in
 * the server process, so these commands talk to it over HTTP like `strata runs`.
 *
 * `enable [--seed N] [--rate 0.03] [--layer models,compute] [--fault NAME] [--force]`: with
 * `--rate`, the rules become one per layer named (or one for every layer) at that error rate;
 * without it, the configured rules stay and chaos is switched on. `--force` is needed in production
 * mode (E_CHAOS_REFUSED otherwise, exit 4). Each command prints the resulting status; `--json` the
 * status document.
 */
import type { Command } from 'commander';
import { NAMED_FAULTS } from '../../kernel/chaos/faults.ts';
import { StrataError } from '../../kernel/errors.ts';
import type { ChaosStatus } from '../../kernel/index.ts';
import { configOf, outputOf } from '../context.ts';
import { remoteOf } from '../remote.ts';
import { table } from '../output.ts';

interface RemoteFlags {
  url?: string;
  key?: string;
}

interface EnableFlags extends RemoteFlags {
  seed?: string;
  rate?: string;
  layer?: string;
  fault?: string;
  force?: boolean;
}

export function renderChaos(status: ChaosStatus): string {
  const config = status.config;
  const head = status.enabled
    ? `chaos: ACTIVE (seed ${config.seed}, mode ${status.mode})`
    : `chaos: off (mode ${status.mode})`;
  const rules = config.rules.map((r, i) => [
    `rules[${i}]`,
    r.layer ?? '*',
    r.syscall ?? '*',
    String(r.errorRate),
    r.fault ?? '-',
    r.latencyMs === undefined
      ? '-'
      : typeof r.latencyMs === 'number'
        ? `${r.latencyMs} ms`
        : `${r.latencyMs.min}-${r.latencyMs.max} ms`,
  ]);
  const parts = [head];
  if (rules.length) parts.push(table(['RULE', 'LAYER', 'SYSCALL', 'RATE', 'FAULT', 'LATENCY'], rules));
  if (status.openOutages.length) parts.push(`outages open: ${status.openOutages.join(', ')}`);
  parts.push(
    status.total === 0
      ? 'no faults injected'
      : table(
          ['LAYER', 'KIND', 'INJECTED'],
          status.faults.map((f) => [f.layer, f.kind, String(f.count)]),
        ),
  );
  return parts.join('\n');
}

function number(flag: string, value: string | undefined, check: (n: number) => boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n))
    throw new StrataError('E_BAD_REQUEST', `${flag} ${value} is out of range`);
  return n;
}

/** The `chaos.set` input for `enable`'s flags. */
export function enableInput(flags: EnableFlags): Record<string, unknown> {
  const seed = number('--seed', flags.seed, (n) => Number.isSafeInteger(n) && n >= 0);
  const rate = number('--rate', flags.rate, (n) => n >= 0 && n <= 1);
  const layers =
    flags.layer
      ?.split(',')
      .map((l) => l.trim())
      .filter(Boolean) ?? [];
  if (rate === undefined && (layers.length > 0 || flags.fault))
    throw new StrataError('E_BAD_REQUEST', '--layer and --fault need --rate');
  const rule = (layer?: string): Record<string, unknown> => ({
    ...(layer ? { layer } : {}),
    errorRate: rate,
    ...(flags.fault ? { fault: flags.fault } : {}),
  });
  return {
    enabled: true,
    ...(seed === undefined ? {} : { seed }),
    ...(flags.force ? { force: true } : {}),
    ...(rate === undefined ? {} : { rules: layers.length ? layers.map(rule) : [rule()] }),
  };
}

export function registerChaos(program: Command): void {
  const chaos = program.command('chaos').description('fault injection on a running server (seeded, audited)');
  const remoteOptions = (command: Command): Command =>
    command
      .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
      .option('--key <apiKey>', 'an operator’s API key (env STRATA_API_KEY; default <dataDir>/admin.key)');
  const act = async (command: Command, flags: RemoteFlags, name: string, input: unknown): Promise<void> => {
    const status = await remoteOf(flags, configOf(command)).call<ChaosStatus>(name, input);
    outputOf(command).result(status, () => renderChaos(status));
  };

  remoteOptions(
    chaos.command('status').description('whether chaos is active, its rules, faults injected'),
  ).action((flags: RemoteFlags, command: Command) => act(command, flags, 'chaos.status', {}));

  remoteOptions(chaos.command('enable').description('turn fault injection on (optionally with new rules)'))
    .option('--seed <n>', 'seed of the draws: the same seed and calls give the same faults')
    .option('--rate <fraction>', 'error rate per attempt, 0..1 (replaces the rules)')
    .option(
      '--layer <layers>',
      'only these layers, comma-separated (models, compute, identity, memory, tools, …)',
    )
    .option('--fault <name>', `a named fault instead of a plain error (${NAMED_FAULTS.join(', ')})`)
    .option('--force', 'allow chaos in production mode')
    .action((flags: EnableFlags, command: Command) => act(command, flags, 'chaos.set', enableInput(flags)));

  remoteOptions(chaos.command('disable').description('turn fault injection off (rules are kept)')).action(
    (flags: RemoteFlags, command: Command) => act(command, flags, 'chaos.set', { enabled: false }),
  );
}
