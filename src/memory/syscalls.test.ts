// The memory syscalls through the kernel pipeline: agent isolation by capability (resources
// encode the scope), tenant isolation, model-backed extraction through a registered
// `model.generate` (scripted provider) with fallback on invalid output, and the OpenAI-compatible
// embedder against a local HTTP server speaking the wire format.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { Kernel, type Grant, type Principal } from '../kernel/index.ts';
import { defineSyscall } from '../kernel/syscalls/define.ts';
import { createSqliteStore } from '../kernel/store/drivers/sqlite/index.ts';
import { withCode } from '../testkit/stores.ts';
import { OpenAiCompatibleEmbedder } from './embedder.ts';
import { MemoryService } from './memory.ts';
import { memorySyscalls } from './syscalls.ts';

type Added = { results: { event: string; id: string; text: string }[]; extractor: string };
type Hits = { hits: { memory: { id: string; text: string; scope: Record<string, string> } }[] };

void describe('memory syscalls', () => {
  let kernel: Kernel;
  let tenantId: string;
  const replies: string[] = [];
  const prompts: string[] = [];
  before(async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    const memory = await MemoryService.open({ store });
    for (const d of memorySyscalls(memory, { kernel })) kernel.register(d);
    tenantId = (await kernel.principals.createTenant('mem')).id;
  });
  after(async () => {
    await kernel.close();
  });
  const principal = async (grants: Grant[], tenant = tenantId): Promise<Principal> => {
    const { key } = await kernel.principals.createApiKey({ tenantId: tenant, name: 'k', grants });
    return kernel.authenticate({ apiKey: key });
  };

  it('an agent reads and writes only its own memories; reading across agents needs a grant', async () => {
    const admin = await principal([{ syscall: '*', resource: '*' }]);
    const a1 = await principal([{ syscall: 'memory.*', resource: 'memory/agent/a1/*' }]);
    const other = (
      await kernel.call<Added>(
        'memory.add',
        { scope: { agentId: 'a2', userId: 'u' }, text: 'The vault combination is 4-8-15', infer: false },
        { principal: admin },
      )
    ).results[0]?.id as string;
    const mine = await kernel.call<Added>(
      'memory.add',
      { scope: { agentId: 'a1', userId: 'u' }, text: 'The vault combination is kept by Ana', infer: false },
      { principal: a1 },
    );
    assert.equal(mine.results[0]?.event, 'ADD');
    const hits = await kernel.call<Hits>(
      'memory.search',
      { scope: { agentId: 'a1' }, query: 'vault combination' },
      { principal: a1 },
    );
    assert.deepEqual(
      hits.hits.map((h) => h.memory.scope['agentId']),
      ['a1'],
    );
    await assert.rejects(
      kernel.call('memory.search', { scope: { agentId: 'a2' }, query: 'vault' }, { principal: a1 }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await assert.rejects(
      kernel.call('memory.search', { scope: { userId: 'u' }, query: 'vault' }, { principal: a1 }),
      withCode('E_CAPABILITY_DENIED'),
      'an agent-less scope reads every agent',
    );
    await assert.rejects(
      kernel.call('memory.get', { scope: { agentId: 'a1' }, id: other }, { principal: a1 }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      kernel.call('memory.export', { scope: { agentId: 'a2' } }, { principal: a1 }),
      withCode('E_CAPABILITY_DENIED'),
    );
    const all = await kernel.call<Hits>(
      'memory.search',
      { scope: { userId: 'u' }, query: 'vault' },
      { principal: admin },
    );
    assert.equal(all.hits.length, 2);
  });

  it('never crosses tenants, whatever the grants', async () => {
    const other = await kernel.principals.createTenant(`t${randomBytes(3).toString('hex')}`);
    const outsider = await principal([{ syscall: '*', resource: '*' }], other.id);
    const hits = await kernel.call<Hits>(
      'memory.search',
      { scope: { userId: 'u' }, query: 'vault combination' },
      { principal: outsider },
    );
    assert.deepEqual(hits.hits, []);
  });

  it('bad input is refused with a stable code', async () => {
    const admin = await principal([{ syscall: '*', resource: '*' }]);
    await assert.rejects(
      kernel.call('memory.add', { scope: { userId: 'u' } }, { principal: admin }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      kernel.call(
        'memory.add',
        { scope: { userId: 'u/../x' }, text: 'hello there friend' },
        { principal: admin },
      ),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      kernel.call('memory.add', { scope: { userId: 'u' }, text: 'y'.repeat(50_000) }, { principal: admin }),
      withCode('E_PAYLOAD_TOO_LARGE'),
    );
    await assert.rejects(
      kernel.call('memory.history', { id: 'mem_unknown' }, { principal: admin }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      kernel.call('memory.import', { scope: {}, jsonl: 'not json\n' }, { principal: admin }),
      (e: unknown) => withCode('E_INVALID_INPUT')(e) && /line 1/.test((e as Error).message),
    );
  });

  it('with model.generate registered, extraction goes through it; invalid output falls back offline', async () => {
    kernel.register(
      defineSyscall({
        name: 'model.generate',
        description: 'scripted model for tests',
        input: z.object({
          model: z.string(),
          messages: z.array(z.object({ role: z.literal('user'), content: z.string() })),
          temperature: z.number(),
        }),
        output: z.object({ text: z.string() }),
        idempotency: 'pure',
        handler: (input) => {
          prompts.push(input.messages[0]?.content ?? '');
          return { text: replies.shift() ?? '' };
        },
      }),
    );
    const admin = await principal([{ syscall: '*', resource: '*' }]);
    replies.push(
      '```json\n{"facts":[{"text":"Zoe is allergic to peanuts","sources":["z1"],"subject":"Zoe"}]}\n```',
    );
    const r = await kernel.call<Added>(
      'memory.add',
      {
        scope: { userId: 'zoe' },
        model: 'scripted/extractor',
        messages: [{ name: 'Zoe', content: 'Peanuts make me sick, I am allergic.', id: 'z1' }],
      },
      { principal: admin },
    );
    assert.equal(r.extractor, 'model');
    assert.deepEqual(
      r.results.map((x) => [x.event, x.text]),
      [['ADD', 'Zoe is allergic to peanuts']],
    );
    assert.match(prompts[0] as string, /\[z1\] .* Zoe: Peanuts make me sick/);
    replies.push('I think Zoe likes tea'); // not JSON
    const fallback = await kernel.call<Added>(
      'memory.add',
      {
        scope: { userId: 'zoe' },
        model: 'scripted/extractor',
        messages: [{ name: 'Zoe', content: 'I drink green tea every morning.', id: 'z2' }],
      },
      { principal: admin },
    );
    assert.deepEqual(
      fallback.results.map((x) => x.text),
      ['Zoe drinks green tea every morning'],
    );
  });
});

void describe('OpenAI-compatible embedder', () => {
  const requests: { auth: string | undefined; body: { model: string; input: string[] } }[] = [];
  let url = '';
  let status = 200;
  const server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { model: string; input: string[] };
      requests.push({ auth: req.headers.authorization, body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: body.input.map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1, 0] })),
          model: body.model,
        }),
      );
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => {
    server.close();
  });

  it('posts the wire format and returns unit vectors; an HTTP error is E_UNAVAILABLE', async () => {
    const e = new OpenAiCompatibleEmbedder({
      baseUrl: url,
      model: 'm-small',
      dimensions: 3,
      apiKey: 'sk-test',
    });
    const [v] = await e.embed(['abc']);
    assert.deepEqual(requests[0], {
      auth: 'Bearer sk-test',
      body: { model: 'm-small', input: ['abc'], encoding_format: 'float' },
    });
    assert.ok(Math.abs((v?.[0] as number) - 3 / Math.sqrt(10)) < 1e-6);
    status = 500;
    await assert.rejects(e.embed(['x']), withCode('E_UNAVAILABLE'));
    const wrong = new OpenAiCompatibleEmbedder({ baseUrl: url, model: 'm', dimensions: 8 });
    status = 200;
    await assert.rejects(wrong.embed(['x']), withCode('E_UNAVAILABLE'));
  });
});
