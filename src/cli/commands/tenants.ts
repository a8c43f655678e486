/**
 * @module cli/commands/tenants
 * `strata tenants create <name>` and `strata tenants ls`. Operator commands: they act on the
 * database directly (whoever can open it owns it), not through an API key.
 */
import type { Command } from 'commander';
import { withRuntime } from '../context.ts';
import { table, when } from '../output.ts';

export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('create and list tenants');

  tenants
    .command('create')
    .description('create a tenant (name: 1-63 chars of [a-z0-9-])')
    .argument('<name>', 'tenant name')
    .action((name: string, _options: unknown, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await runtime.kernel.principals.createTenant(name);
        out.result(tenant, () => `created tenant ${tenant.name} (${tenant.id})`);
      }),
    );

  tenants
    .command('ls')
    .description('list tenants')
    .action((_options: unknown, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const list = await runtime.kernel.principals.listTenants();
        out.result({ tenants: list }, () =>
          list.length === 0
            ? 'no tenants yet: run `strata up` (creates "default") or `strata tenants create <name>`'
            : table(
                ['ID', 'NAME', 'CREATED'],
                list.map((t) => [t.id, t.name, when(t.createdAt)]),
              ),
        );
      }),
    );
}
