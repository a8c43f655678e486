/**
 * @module cli/commands/tools
 * `strata tools ls|call|servers|add|add-mcp|add-openapi|rm` and `strata vault put|ls|rm|connect`. Each
 * runs the matching `tools.*` syscall in process, as the caller's key or token, so the CLI is no
 * back door: grants are checked and every action is audited.
 *
 * Secrets never go on the command line (other users can read a process's arguments): `vault put`
 * reads the secret from stdin or from the environment variable `--secret-env` names, and `vault
 * connect` reads the client secret and refresh token from environment variables.
 *
 * `tools add <url>` discovers the server first (catalog → server card → live connection, see
 * `tools/mcp/discover.ts`), in this process and before any syscall: a card that contradicts the
 * live server is refused with its code and nothing is registered.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { StrataError, isStrataError } from '../../kernel/errors.ts';
import { table } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { callAs, print, withAuth, readInput, type AuthOptions } from './call-input.ts';

function keyValue(spec: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = spec.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${spec}" is not NAME=VALUE`);
  return { ...previous, [spec.slice(0, at)]: spec.slice(at + 1) };
}

async function readSecret(envName: string | undefined): Promise<string> {
  if (envName !== undefined) {
    const value = process.env[envName];
    if (!value) throw new StrataError('E_BAD_REQUEST', `environment variable ${envName} is empty`);
    return value;
  }
  if (process.stdin.isTTY)
    throw new StrataError('E_BAD_REQUEST', 'pipe the secret on stdin or pass --secret-env VAR');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks).toString('utf8').trim();
  if (value === '') throw new StrataError('E_BAD_REQUEST', 'no secret on stdin');
  return value;
}

type ToolRow = { name: string; source: string; description: string };
type Server = {
  name: string;
  transport: string;
  health: string;
  tools: number;
  restarts: number;
  lastError?: string;
};

function registerToolCommands(program: Command): void {
  const tools = program.command('tools').description('list, call and register tools (MCP servers, OpenAPI)');

  withAuth(tools.command('ls').description('list the tools you may call'))
    .option('--source <source>', 'native, mcp or openapi')
    .action(async (options: AuthOptions & { source?: string }, command: Command) => {
      const out = (await callAs(
        command,
        options,
        'tools.list',
        options.source ? { source: options.source } : {},
      )) as {
        tools: ToolRow[];
      };
      print(command, out, () =>
        out.tools.length === 0
          ? 'no tools granted'
          : table(
              ['NAME', 'SOURCE', 'DESCRIPTION'],
              out.tools.map((t) => [t.name, t.source, t.description]),
            ),
      );
    });

  withAuth(tools.command('call').description('call a tool through tools.call (capability-checked, audited)'))
    .argument('<tool>', 'tool name, e.g. mcp.fs.read_file')
    .option('--input <json>', 'arguments as JSON, or - for stdin (default: {})')
    .option('--input-file <file>', 'read the arguments from a file')
    .action(
      async (
        tool: string,
        options: AuthOptions & { input?: string; inputFile?: string },
        command: Command,
      ) => {
        const args = await readInput(options);
        const out = await callAs(command, options, 'tools.call', { tool, arguments: args });
        print(command, out, () => JSON.stringify(out, null, 2));
      },
    );

  withAuth(tools.command('servers').description('health of the registered MCP servers')).action(
    async (options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'tools.servers', {})) as { servers: Server[] };
      print(command, out, () =>
        out.servers.length === 0
          ? 'no MCP servers'
          : table(
              ['NAME', 'TRANSPORT', 'HEALTH', 'TOOLS', 'RESTARTS', 'LAST ERROR'],
              out.servers.map((s) => [
                s.name,
                s.transport,
                s.health,
                String(s.tools),
                String(s.restarts),
                s.lastError ?? '-',
              ]),
            ),
      );
    },
  );

  withAuth(
    tools
      .command('add-mcp')
      .description('register an MCP server: --url for Streamable HTTP, or a command after -- for stdio'),
  )
    .argument('<name>', 'server name; its tools become mcp.<name>.<tool>')
    .argument('[command...]', 'stdio: program and arguments (after --)')
    .option('--url <url>', 'Streamable HTTP endpoint')
    .option('--connection <name>', 'http: vault connection sent as the credential')
    .option('--env <NAME=VALUE>', 'stdio: environment variable (repeatable)', keyValue)
    .option(
      '--secret-env <NAME=connection>',
      'stdio: environment variable from a vault connection (repeatable)',
      keyValue,
    )
    .option('--timeout <ms>', 'per-call timeout in ms', parseInteger)
    .action(
      async (
        name: string,
        argv: string[],
        options: AuthOptions & {
          url?: string;
          connection?: string;
          env?: Record<string, string>;
          secretEnv?: Record<string, string>;
          timeout?: number;
        },
        command: Command,
      ) => {
        const [program_, ...args] = argv;
        const input =
          options.url !== undefined
            ? {
                name,
                transport: 'http',
                url: options.url,
                connection: options.connection,
                timeoutMs: options.timeout,
              }
            : {
                name,
                transport: 'stdio',
                command: program_,
                args,
                env: options.env,
                secretEnv: options.secretEnv,
                timeoutMs: options.timeout,
              };
        const out = (await callAs(
          command,
          options,
          'tools.mcp.add',
          JSON.parse(JSON.stringify(input)),
        )) as Server;
        print(
          command,
          out,
          () =>
            `MCP server ${out.name}: ${out.health}, ${out.tools} tools${out.lastError ? ` (${out.lastError})` : ''}`,
        );
      },
    );

  withAuth(
    tools
      .command('add')
      .description(
        'discover an MCP server from a catalog, base or server card URL, check its card, register it',
      ),
  )
    .argument('<url>', 'https://host/, …/.well-known/ai-catalog.json or …/mcp/server-card')
    .option('--name <name>', 'server name (default: from the card); its tools become mcp.<name>.<tool>')
    .option('--entry <identifier>', 'the catalog entry, when the catalog lists several MCP servers')
    .option('--bearer-env <VAR>', 'environment variable holding the bearer credential for discovery')
    .option('--connection <name>', 'vault connection sent as the credential once registered')
    .option('--timeout <ms>', 'per-request timeout in ms for discovery and per-call timeout', parseInteger)
    .action(
      async (
        url: string,
        options: AuthOptions & {
          name?: string;
          entry?: string;
          bearerEnv?: string;
          connection?: string;
          timeout?: number;
        },
        command: Command,
      ) => {
        const bearer = options.bearerEnv === undefined ? undefined : await readSecret(options.bearerEnv);
        const { discoverMcpServer } = await import('../../tools/index.ts');
        const found = await discoverMcpServer(url, {
          ...(bearer === undefined ? {} : { bearer }),
          ...(options.entry === undefined ? {} : { entry: options.entry }),
          ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        });
        const name = options.name ?? found.name;
        const server = (await callAs(command, options, 'tools.mcp.add', {
          name,
          transport: 'http',
          url: found.endpoint,
          ...(options.connection ? { connection: options.connection } : {}),
          ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
        })) as Server;
        const out = {
          name,
          endpoint: found.endpoint,
          cardUrl: found.cardUrl,
          ...(found.catalogUrl ? { catalogUrl: found.catalogUrl } : {}),
          card: { name: found.card.name, version: found.card.version },
          tools: found.tools.map((t) => t.name),
          server,
        };
        print(
          command,
          out,
          () =>
            `MCP server ${name} (${out.card.name} ${out.card.version}) at ${out.endpoint}: card matches; ${server.health}, ${server.tools} tools`,
        );
      },
    );

  withAuth(tools.command('add-openapi').description('add an OpenAPI 3.x connector: one tool per operation'))
    .argument('<name>', 'connector name; its tools become <name>.<operationId>')
    .argument('<document>', 'a JSON or YAML file, or an http(s) URL')
    .option('--base-url <url>', 'overrides the document’s servers[0].url')
    .option('--connection <name>', 'vault connection whose credential each call carries')
    .action(
      async (
        name: string,
        document: string,
        options: AuthOptions & { baseUrl?: string; connection?: string },
        command: Command,
      ) => {
        // A local file is read here, by the user running the CLI, and sent as an object.
        const { loadOpenApi } = await import('../../tools/index.ts');
        const doc = /^https?:\/\//.test(document) ? document : (await loadOpenApi(document)).bundled;
        const out = (await callAs(command, options, 'tools.openapi.add', {
          name,
          document: doc,
          ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
          ...(options.connection ? { connection: options.connection } : {}),
        })) as { tools: ToolRow[] };
        print(command, out, () => `connector ${name}: ${out.tools.map((t) => t.name).join(', ')}`);
      },
    );

  withAuth(tools.command('rm').description('remove an MCP server or an OpenAPI connector'))
    .argument('<name>')
    .action(async (name: string, options: AuthOptions, command: Command) => {
      try {
        await callAs(command, options, 'tools.mcp.remove', { name });
      } catch (error) {
        if (!isStrataError(error) || error.code !== 'E_NOT_FOUND') throw error;
        await callAs(command, options, 'tools.openapi.remove', { name });
      }
      print(command, { name, removed: true }, () => `removed ${name}`);
    });
}

function registerVaultCommands(program: Command): void {
  const vault = program.command('vault').description('credentials for tools, encrypted at rest');

  withAuth(
    vault
      .command('put')
      .description('store or rotate an API key or bearer token (secret from stdin or --secret-env)'),
  )
    .argument('<name>')
    .option('--kind <kind>', 'api_key or bearer', 'api_key')
    .option('--in <where>', 'api_key: header or query', 'header')
    .option('--param-name <name>', 'api_key: header or query parameter name')
    .option('--owner <owner>', '"self" for your own connected account (default: tenant-wide)')
    .option('--secret-env <VAR>', 'read the secret from this environment variable')
    .action(
      async (
        name: string,
        options: AuthOptions & {
          kind: string;
          in: string;
          paramName?: string;
          owner?: string;
          secretEnv?: string;
        },
        command: Command,
      ) => {
        const secret = await readSecret(options.secretEnv);
        const out = (await callAs(command, options, 'tools.vault.put', {
          name,
          kind: options.kind,
          secret,
          ...(options.kind === 'api_key' ? { in: options.in } : {}),
          ...(options.paramName ? { paramName: options.paramName } : {}),
          ...(options.owner ? { owner: options.owner } : {}),
        })) as { name: string; kind: string };
        print(command, out, () => `stored ${out.kind} connection ${out.name}`);
      },
    );

  withAuth(
    vault.command('connect').description('connect an OAuth2 client (client credentials or refresh token)'),
  )
    .argument('<name>')
    .requiredOption('--token-url <url>', 'the token endpoint')
    .requiredOption('--client-id <id>', 'the client id')
    .option('--client-secret-env <VAR>', 'environment variable holding the client secret')
    .option('--refresh-token-env <VAR>', 'environment variable holding a refresh token')
    .option('--scope <scope>', 'requested scope')
    .option('--owner <owner>', '"self" for your own connected account')
    .action(
      async (
        name: string,
        options: AuthOptions & {
          tokenUrl: string;
          clientId: string;
          clientSecretEnv?: string;
          refreshTokenEnv?: string;
          scope?: string;
          owner?: string;
        },
        command: Command,
      ) => {
        const clientSecret = options.clientSecretEnv ? await readSecret(options.clientSecretEnv) : undefined;
        const refreshToken = options.refreshTokenEnv ? await readSecret(options.refreshTokenEnv) : undefined;
        const out = (await callAs(command, options, 'tools.vault.connect', {
          name,
          tokenUrl: options.tokenUrl,
          clientId: options.clientId,
          ...(clientSecret ? { clientSecret } : {}),
          ...(refreshToken ? { refreshToken } : {}),
          ...(options.scope ? { scope: options.scope } : {}),
          ...(options.owner ? { owner: options.owner } : {}),
        })) as { name: string };
        print(command, out, () => `connected OAuth2 client ${out.name}`);
      },
    );

  withAuth(vault.command('ls').description('list connections (never their secrets)')).action(
    async (options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'tools.vault.list', {})) as {
        connections: { name: string; kind: string; owner: string; updatedAt: number }[];
      };
      print(command, out, () =>
        out.connections.length === 0
          ? 'no connections'
          : table(
              ['NAME', 'KIND', 'OWNER', 'UPDATED'],
              out.connections.map((c) => [
                c.name,
                c.kind,
                c.owner || '(tenant)',
                new Date(c.updatedAt).toISOString(),
              ]),
            ),
      );
    },
  );

  withAuth(vault.command('rm').description('delete a connection'))
    .argument('<name>')
    .option('--owner <owner>', 'the connected account’s owner ("self" for yours)')
    .action(async (name: string, options: AuthOptions & { owner?: string }, command: Command) => {
      await callAs(command, options, 'tools.vault.remove', {
        name,
        ...(options.owner ? { owner: options.owner } : {}),
      });
      print(command, { name, removed: true }, () => `removed ${name}`);
    });
}

export function registerTools(program: Command): void {
  registerToolCommands(program);
  registerVaultCommands(program);
}
