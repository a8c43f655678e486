/**
 * @module cli/commands/syscalls
 * `strata syscalls ls` and `strata syscalls call`. A call runs in process but through the same
 * kernel pipeline as the HTTP API (authenticate → authorize → execute → audit), so the CLI is no
 * back door: a key without the grant is denied, and every call lands in the audit chain.
 */
import type { Command } from 'commander';
import { matches } from '../../kernel/auth/grants.ts';
import type { Principal, SyscallDescription } from '../../kernel/index.ts';
import { configOf, withRuntime } from '../context.ts';
import { table } from '../output.ts';
import { credentialsFor, readInput } from './call-input.ts';

/** Whether any of the principal's grants names this syscall (on some resource). */
function granted(principal: Principal, name: string): boolean {
  return principal.grants.some((grant) => matches(grant.syscall, name, '.'));
}

function summary(d: SyscallDescription): { name: string; description: string; idempotency: string } {
  return { name: d.name, description: d.description, idempotency: d.idempotency };
}

export function registerSyscalls(program: Command): void {
  const syscalls = program.command('syscalls').description('list and call syscalls');

  syscalls
    .command('ls')
    .description('list registered syscalls; with --key, only those the key is granted')
    .option('--key <apiKey>', 'an API key (prefer env STRATA_API_KEY for secrets)')
    .action((options: { key?: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const { kernel } = runtime;
        const principal =
          options.key === undefined ? undefined : await kernel.authenticate({ apiKey: options.key });
        const names = kernel.registry.names().filter((n) => principal === undefined || granted(principal, n));
        const list = names.map((n) => summary(kernel.registry.describe(n)));
        out.result({ syscalls: list }, () =>
          list.length === 0
            ? 'no syscalls granted'
            : table(
                ['NAME', 'IDEMPOTENCY', 'DESCRIPTION'],
                list.map((s) => [s.name, s.idempotency, s.description]),
              ),
        );
      }),
    );

  syscalls
    .command('call')
    .description('run a syscall through the kernel pipeline (capability-checked and audited)')
    .argument('<name>', 'syscall name, e.g. kernel.echo')
    .option('--input <json>', 'input as JSON, or - to read it from stdin (default: {})')
    .option('--input-file <file>', 'read the input JSON from a file (- for stdin)')
    .option('--key <apiKey>', 'API key (default: env STRATA_API_KEY, then <dataDir>/admin.key)')
    .option('--token <token>', 'capability token; alone, or narrowing --key when the token names the key')
    .action(
      async (
        name: string,
        options: { input?: string; inputFile?: string; key?: string; token?: string },
        command: Command,
      ) => {
        // Read input and credentials before opening the database: bad JSON fails fast and cheap.
        const input = await readInput(options);
        const credentials = credentialsFor(options, configOf(command));
        await withRuntime(command, async (runtime, out) => {
          const principal = await runtime.kernel.authenticate(credentials);
          const output = await runtime.kernel.call(name, input, { principal });
          out.result(output, () => JSON.stringify(output, null, 2));
        });
      },
    );
}
