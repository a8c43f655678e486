/**
 * @module cli/commands/agents
 * `strata agents create|ls|show|rotate-key|export`: agent identities through the `identity.*`
 * syscalls, in process as the caller's key or token (grants checked, every action audited). Nothing
 * here ever prints a private key: the server never returns one.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import { table } from '../output.ts';
import { callAs, print, withAuth, type AuthOptions } from './call-input.ts';
import { registerDirectory } from './directory.ts';

type Identity = {
  agentId: string;
  did: string;
  kid: string;
  publicJwk: Record<string, unknown>;
  links: { mailboxes?: string[]; a2aCardUrl?: string; mcpServerCardUrl?: string; erc8004?: string };
  keys: { kid: string; did: string; status: string; createdAt: string; retiredAt: string | null }[];
  createdAt: string;
};

const HEADER = ['AGENT', 'DID', 'KID', 'KEYS', 'CREATED'];
const row = (i: Identity): string[] => [i.agentId, i.did, i.kid, String(i.keys.length), i.createdAt];

function describe(i: Identity): string {
  const links = Object.entries(i.links).map(
    ([k, v]) => `  ${k.padEnd(17)}${Array.isArray(v) ? v.join(', ') : v}`,
  );
  const keys = i.keys.map(
    (k) => `  ${k.status.padEnd(8)} ${k.kid}  ${k.did}${k.retiredAt ? `  retired ${k.retiredAt}` : ''}`,
  );
  return [
    `agent    ${i.agentId}`,
    `did      ${i.did}`,
    `kid      ${i.kid}`,
    'keys',
    ...keys,
    ...(links.length ? ['links', ...links] : []),
  ].join('\n');
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function url(text: string): string {
  if (!/^https?:\/\//.test(text)) throw new InvalidArgumentError(`"${text}" is not an http(s) URL`);
  return text;
}

export function registerAgents(program: Command): void {
  const agents = program
    .command('agents')
    .description('agent identities: Ed25519 keys, did:key, JWKS, signed documents');

  withAuth(
    agents.command('create').description('give an agent its key and did:key (the private key stays sealed)'),
  )
    .argument('<agent>', 'agent id or name')
    .option('--mailbox <address>', 'a mailbox address to publish (repeatable)', collect)
    .option('--a2a-card <url>', 'the agent’s A2A card URL', url)
    .option('--mcp-card <url>', 'an MCP server card URL', url)
    .option('--erc8004 <id>', 'eip155:<chainId>:<registry>:<agentId>')
    .action(
      async (
        agent: string,
        options: AuthOptions & { mailbox?: string[]; a2aCard?: string; mcpCard?: string; erc8004?: string },
        command: Command,
      ) => {
        const links = {
          ...(options.mailbox ? { mailboxes: options.mailbox } : {}),
          ...(options.a2aCard ? { a2aCardUrl: options.a2aCard } : {}),
          ...(options.mcpCard ? { mcpServerCardUrl: options.mcpCard } : {}),
          ...(options.erc8004 ? { erc8004: options.erc8004 } : {}),
        };
        const out = (await callAs(command, options, 'identity.agents.create', { agent, links })) as Identity;
        print(command, out, () => describe(out));
      },
    );

  withAuth(agents.command('ls').description('agent identities of your tenant')).action(
    async (options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'identity.agents.list', {})) as { agents: Identity[] };
      print(command, out, () =>
        out.agents.length === 0 ? 'no agent identities' : table(HEADER, out.agents.map(row)),
      );
    },
  );

  withAuth(agents.command('show').description('one agent identity: DIDs, keys, links'))
    .argument('<agent>', 'agent id or name')
    .action(async (agent: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'identity.agents.get', { agent })) as Identity;
      print(command, out, () => describe(out));
    });

  withAuth(agents.command('rotate-key').description('new key and did:key; the old key is kept for verifying'))
    .argument('<agent>', 'agent id or name')
    .action(async (agent: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'identity.agents.rotate', { agent })) as Identity;
      print(command, out, () => describe(out));
    });

  withAuth(
    agents
      .command('export')
      .description('public material only: the signed identity document of an agent, or the JWKS with --jwks'),
  )
    .argument('[agent]', 'agent id or name')
    .option('--jwks', 'print the JWK set of every agent key of the tenant')
    .action(
      async (agent: string | undefined, options: AuthOptions & { jwks?: boolean }, command: Command) => {
        if (options.jwks === true) {
          const out = await callAs(command, options, 'identity.jwks', {});
          print(command, out, () => JSON.stringify(out, null, 2));
          return;
        }
        if (agent === undefined) throw new StrataError('E_BAD_REQUEST', 'name an agent, or pass --jwks');
        const out = (await callAs(command, options, 'identity.agents.document', { agent })) as {
          jws: string;
        };
        print(command, out, () => out.jws);
      },
    );

  registerDirectory(agents);
}
