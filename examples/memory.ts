import { openStore } from './src/kernel/index.ts';
import { MemoryService } from './src/memory/index.ts';

const store = await openStore('sqlite::memory:'); // or 'postgres://127.0.0.1/strata'
const memory = await MemoryService.open({ store });
const tenant = 'ten_demo'; // through syscalls, the tenant is always the caller's
const scope = { userId: 'alice', agentId: 'concierge' };

await memory.add(tenant, scope, [
  {
    name: 'Alice',
    content: 'I live in Paris. I adopted a cat named Miso yesterday.',
    at: '2024-03-02T10:00:00Z',
  },
]);
const moved = await memory.add(tenant, scope, [
  { name: 'Alice', content: 'I moved to Lyon last month.', at: '2024-05-20T09:00:00Z' },
]);
console.log(moved.results.map((r) => `${r.event} ${r.text}`).join('\n'));

const [hit] = await memory.search(tenant, scope, 'Where does Alice live now?', { k: 3 });
console.log(hit?.memory.text, Object.keys(hit?.signals ?? {}).join('+'));

const old = moved.results.find((r) => r.event === 'DELETE');
const history = await memory.history(tenant, scope, old?.id ?? '');
console.log(history.map((h) => `${h.event}: ${h.newText ?? h.reason}`).join('\n'));

const jsonl = await memory.export(tenant, scope); // JSON Lines; import() takes it back on any driver
console.log(`${jsonl.trimEnd().split('\n').length} lines: a header, 5 memories, 4 history entries`);
await store.close();
