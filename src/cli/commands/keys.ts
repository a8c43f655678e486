/**
 * @module cli/commands/keys
 * `strata keys create | ls | revoke`: API keys of a tenant. The secret is printed once, at creation;
 * Strata keeps only its hash, so `ls` can show ids, names and grants but never a key.
 */
import type { Command } from 'commander';
import type { ApiKeyRecord, Grant } from '../../kernel/index.ts';
import { tenantOf, withRuntime } from '../context.ts';
import { grantList, table, when } from '../output.ts';
import { collectGrant } from '../parse.ts';

/** A listed key without the frozen-object noise, safe to print. */
function describeKey(record: ApiKeyRecord): Record<string, unknown> {
  return { ...record, grants: record.grants.map((g) => ({ ...g })) };
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key; the key is printed once and cannot be recovered')
    .requiredOption('--tenant <name|id>', 'tenant that owns the key')
    .option('--name <name>', 'a label for the key', 'cli')
    .requiredOption(
      '--grant <syscall[@resource]>',
      'allow a syscall pattern (e.g. kernel.echo, memory.*@memory/agent/a1/*); repeatable; resource defaults to *',
      collectGrant,
    )
    .action((options: { tenant: string; name: string; grant: Grant[] }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        const { key, record } = await runtime.kernel.principals.createApiKey({
          tenantId: tenant.id,
          name: options.name,
          grants: options.grant,
        });
        out.result({ ...describeKey(record), key }, () =>
          [`created API key ${record.id} (${record.name}) in tenant ${tenant.name}`, `  ${key}`].join('\n'),
        );
        out.note('Save the key now: it is shown only once. Pass it as --key or STRATA_API_KEY.');
      }),
    );

  keys
    .command('ls')
    .description('list API keys of a tenant (never their secrets)')
    .requiredOption('--tenant <name|id>', 'tenant')
    .action((options: { tenant: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        const list = await runtime.kernel.principals.listApiKeys(tenant.id);
        out.result({ tenantId: tenant.id, keys: list.map(describeKey) }, () =>
          list.length === 0
            ? `no API keys in tenant ${tenant.name}`
            : table(
                ['ID', 'NAME', 'GRANTS', 'CREATED', 'REVOKED'],
                list.map((k) => [k.id, k.name, grantList(k.grants), when(k.createdAt), when(k.revokedAt)]),
              ),
        );
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key (idempotent)')
    .requiredOption('--tenant <name|id>', 'tenant that owns the key')
    .argument('<keyId>', 'key id (key_…)')
    .action((keyId: string, options: { tenant: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        await runtime.kernel.principals.revokeApiKey(tenant.id, keyId);
        out.result({ id: keyId, tenantId: tenant.id, revoked: true }, () => `revoked API key ${keyId}`);
      }),
    );
}
