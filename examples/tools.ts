import { randomBytes } from 'node:crypto';
import { Kernel, openStore } from './src/kernel/index.ts';
import { attachTools, ToolsLayer, toolsSyscalls, type ToolInfo, type ToolResult } from './src/tools/index.ts';

const store = await openStore('sqlite::memory:');
const masterKey = randomBytes(32); // seals each tenant's vault data key
const kernel = await Kernel.open({ store, masterKey });
const tools = await ToolsLayer.open({ store, masterKey });
for (const definition of toolsSyscalls(tools)) kernel.register(definition);
attachTools(kernel, tools); // lets `strata mcp` and /mcp list the tools a caller may call
const { id: tenantId } = await kernel.principals.createTenant('demo');
const keyWith = async (grants: { syscall: string; resource: string }[]) =>
  kernel.authenticate({
    apiKey: (await kernel.principals.createApiKey({ tenantId, name: 'k', grants })).key,
  });
const admin = await keyWith([{ syscall: '*', resource: '*' }]);

// Any MCP server: spawned over stdio, supervised (restarted with backoff if it dies).
const server = await kernel.call<{ name: string; health: string; tools: number }>(
  'tools.mcp.add',
  {
    name: 'demo',
    transport: 'stdio',
    command: process.execPath,
    args: ['test/fixtures/mcp-fixture/stdio.ts'],
  },
  { principal: admin },
);
console.log(server.name, server.health, server.tools, 'tools');

// An agent granted exactly one tool: it lists only that tool and cannot call the others.
const agent = await keyWith([
  { syscall: 'tools.list', resource: '*' },
  { syscall: 'tools.call', resource: 'tools/mcp/demo/add' },
]);
const listed = await kernel.call<{ tools: ToolInfo[] }>('tools.list', {}, { principal: agent });
console.log(listed.tools.map((t) => t.name).join(', '));
const sum = await kernel.call<ToolResult>(
  'tools.call',
  { tool: 'mcp.demo.add', arguments: { a: 2, b: 3 } },
  { principal: agent },
);
console.log(JSON.stringify(sum.structuredContent));
await kernel
  .call('tools.call', { tool: 'mcp.demo.pid', arguments: {} }, { principal: agent })
  .catch((error: { code: string }) => console.log(error.code));
await tools.close();
await kernel.close();
