/**
 * @module cli/commands/resources
 * `strata resources catalog|add|ls|get|env|use|rotate|suspend|resume|rm|history`: the `provision.*`
 * syscalls run in process as the caller's key or token (grants checked, every action audited).
 * Secrets are printed only by `env --reveal`, `use` and `rotate`, which exist to hand them over.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { table } from '../output.ts';
import { callAs, print, withAuth, type AuthOptions } from './call-input.ts';

type Resource = {
  id: string;
  kind: string;
  name: string;
  state: string;
  env: Record<string, string>;
  lastUsedAt: string;
  error: string | null;
};

const row = (r: Resource): string[] => [r.name, r.kind, r.state, r.id, r.lastUsedAt];
const HEADER = ['NAME', 'KIND', 'STATE', 'ID', 'LAST USED'];
const envLines = (env: Record<string, string>): string =>
  Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

function keyValue(spec: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = spec.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${spec}" is not KEY=VALUE`);
  return { ...previous, [spec.slice(0, at)]: spec.slice(at + 1) };
}

function parseConfig(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('--config takes a JSON object');
}

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError(`"${text}" is not a positive number`);
  return value;
}

/** A command taking one resource (name or id) and printing the resource. */
function perResource(parent: Command, name: string, syscall: string, description: string): void {
  withAuth(parent.command(name).description(description))
    .argument('<resource>', 'name or id')
    .action(async (resource: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, syscall, { resource })) as Resource;
      print(command, out, () => table(HEADER, [row(out)]));
    });
}

/** A command taking one resource and printing the KEY=VALUE lines the syscall returns. */
function envCommand(parent: Command, name: string, syscall: string, description: string): void {
  withAuth(parent.command(name).description(description))
    .argument('<resource>', 'name or id')
    .action(async (resource: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, syscall, { resource })) as {
        env?: Record<string, string>;
        secrets?: Record<string, string>;
      };
      print(command, out, () => envLines(out.env ?? out.secrets ?? {}));
    });
}

export function registerResources(program: Command): void {
  const resources = program
    .command('resources')
    .description('provision databases, sandboxes and browser contexts on demand (metered, budgeted)');

  withAuth(resources.command('catalog').description('the kinds this server can provision')).action(
    async (options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'provision.catalog', {})) as {
        kinds: { kind: string; description: string; meters: { readySeconds: string; provisions: string } }[];
      };
      print(command, out, () =>
        table(
          ['KIND', 'METERS', 'DESCRIPTION'],
          out.kinds.map((k) => [k.kind, `${k.meters.provisions}, ${k.meters.readySeconds}`, k.description]),
        ),
      );
    },
  );

  withAuth(resources.command('add').description('provision a resource (idempotent with --idempotency-key)'))
    .argument('<kind>', 'postgres, sqlite, sandbox or browser (see catalog)')
    .argument('<name>', '1–63 bytes of a-z, 0-9, - and _')
    .option('--config <json>', 'driver config as a JSON object', parseConfig)
    .option('--label <KEY=VALUE>', 'label (repeatable)', keyValue)
    .option('--idempotency-key <key>', 'the same key returns the same resource and charges once')
    .option('--idle-minutes <n>', 'suspend after this long unused (default 5)', positive)
    .option('--ttl-minutes <n>', 'destroy this long after creation', positive)
    .action(
      async (
        kind: string,
        name: string,
        options: AuthOptions & {
          config?: Record<string, unknown>;
          label?: Record<string, string>;
          idempotencyKey?: string;
          idleMinutes?: number;
          ttlMinutes?: number;
        },
        command: Command,
      ) => {
        const out = (await callAs(command, options, 'provision.create', {
          kind,
          name,
          config: options.config,
          labels: options.label,
          idempotencyKey: options.idempotencyKey,
          idleMinutes: options.idleMinutes,
          ttlMinutes: options.ttlMinutes,
        })) as Resource;
        print(command, out, () => `${table(HEADER, [row(out)])}\n${envLines(out.env)}`);
      },
    );

  withAuth(resources.command('ls').description('your resources'))
    .option('--state <state>', 'pending, ready, suspended, destroying, destroyed or failed')
    .option('--kind <kind>', 'only this kind')
    .option('--label <KEY=VALUE>', 'only resources with this label (repeatable)', keyValue)
    .action(
      async (
        options: AuthOptions & { state?: string; kind?: string; label?: Record<string, string> },
        command: Command,
      ) => {
        const out = (await callAs(command, options, 'provision.list', {
          state: options.state,
          kind: options.kind,
          labels: options.label,
        })) as { resources: Resource[] };
        print(command, out, () =>
          out.resources.length === 0 ? 'no resources' : table(HEADER, out.resources.map(row)),
        );
      },
    );

  perResource(resources, 'get', 'provision.get', 'one resource');
  perResource(resources, 'suspend', 'provision.suspend', 'scale a resource to zero (data kept)');
  perResource(resources, 'resume', 'provision.resume', 'bring a suspended resource back');
  perResource(resources, 'rm', 'provision.destroy', 'destroy a resource (billing stops now)');

  withAuth(resources.command('env').description('env of your live resources, secrets redacted'))
    .option('--reveal', 'print secret values too')
    .action(async (options: AuthOptions & { reveal?: boolean }, command: Command) => {
      const out = (await callAs(command, options, 'provision.env', { reveal: options.reveal === true })) as {
        env: Record<string, string>;
      };
      print(command, out, () => envLines(out.env));
    });

  envCommand(resources, 'use', 'provision.use', 'connection details with secrets; resumes if suspended');
  envCommand(resources, 'rotate', 'provision.rotate', 'new credentials; the old ones stop working');

  withAuth(resources.command('history').description('state transitions of a resource'))
    .argument('<resource>', 'name or id')
    .action(async (resource: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'provision.history', { resource })) as {
        transitions: { seq: number; from: string | null; to: string; reason: string; at: string }[];
      };
      print(command, out, () =>
        table(
          ['SEQ', 'AT', 'FROM', 'TO', 'REASON'],
          out.transitions.map((t) => [String(t.seq), t.at, t.from ?? '-', t.to, t.reason]),
        ),
      );
    });
}
