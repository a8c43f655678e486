/**
 * @module cli/commands/mcp
 * `strata mcp`: Strata as an MCP server over stdio, for MCP clients that spawn their servers
 * (Claude Desktop, IDEs, agent frameworks). It acts as the caller the credentials name (`--key`,
 * env `STRATA_API_KEY`, `--token`, else `<dataDir>/admin.key`) and exposes exactly the syscalls and
 * tools that caller is granted. Stdout carries the protocol only; nothing else is printed there.
 * It exits when the client closes stdin.
 */
import type { Command } from 'commander';
import { configOf } from '../context.ts';
import { credentialsFor } from './call-input.ts';

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('serve Strata over MCP on stdio (the syscalls and tools the caller is granted)')
    .option('--key <apiKey>', 'API key (default: env STRATA_API_KEY, then <dataDir>/admin.key)')
    .option('--token <token>', 'capability token; alone, or narrowing --key')
    .action(async (options: { key?: string; token?: string }, command: Command) => {
      const config = configOf(command);
      const credentials = credentialsFor(options, config);
      const [{ StdioServerTransport }, { openRuntime }, { createStrataMcpServer }] = await Promise.all([
        import('@modelcontextprotocol/sdk/server/stdio.js'),
        import('../../server/runtime.ts'),
        import('../../tools/index.ts'),
      ]);
      const runtime = await openRuntime({ config });
      try {
        const principal = await runtime.kernel.authenticate(credentials);
        const server = await createStrataMcpServer({ kernel: runtime.kernel, principal });
        const closed = new Promise<void>((resolve) => {
          server.onclose = () => resolve();
          process.stdin.once('end', () => resolve());
        });
        await server.connect(new StdioServerTransport());
        await closed;
        await server.close();
      } finally {
        await runtime.close();
      }
    });
}
