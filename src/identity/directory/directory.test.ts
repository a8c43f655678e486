/**
 * The agent directory over real A2A servers on loopback (a Strata A2A service and one built from the
 * SDK's parts): entries added only after their card verifies to the asked trust, search by skill
 * (id, name or tag) and words, `a2a.call` outcomes recorded (success ranks first, failures kept
 * with their error), tenants apart, grants checked, private addresses refused outside test mode.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { InProcessExecutor } from '../a2a/executor.ts';
import { a2aRoutes } from '../a2a/routes.ts';
import { A2aService } from '../a2a/service.ts';
import { a2aSyscalls } from '../a2a/syscalls.ts';
import { sdkServer, serveHono, testSigner, type Listening } from '../a2a/testing.ts';
import { AgentDirectory } from './directory.ts';
import { directorySyscalls } from './syscalls.ts';

type Entry = {
  id: string;
  name: string;
  kid: string | null;
  possession: boolean;
  skills: { id: string }[];
  calls: number;
  failures: number;
  lastSuccessAt: string | null;
  lastError: string | null;
};

onEveryStore('agent directory', (db) => {
  let store: Store;
  let kernel: Kernel;
  let strata: Listening;
  let sdk: Listening;
  let owner: Principal;
  let other: Principal;
  let reader: Principal;
  const call = <T>(who: Principal, name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal: who });

  const principal = (grants: { syscall: string; resource: string }[]): Promise<Principal> =>
    principalInNewTenant(kernel, `dir-${randomBytes(3).toString('hex')}`, grants);

  before(async () => {
    store = await db().open();
    kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
    const directory = await AgentDirectory.open({ store, allowPrivate: true });
    for (const s of [
      ...a2aSyscalls({ allowPrivate: true, onCalled: (t, url, o) => directory.recordCall(t, url, o) }),
      ...directorySyscalls(directory),
    ])
      kernel.register(s);
    sdk = await sdkServer();
    const signer = await testSigner();
    strata = await serveHono(async (url) =>
      a2aRoutes(
        await A2aService.open({
          store,
          masterKey: randomBytes(32),
          baseUrl: url,
          agents: [
            { name: 'translator', skill: { id: 'translate', name: 'Translate', tags: ['french', 'german'] } },
            { name: 'summarizer', skill: { id: 'summarize', name: 'Summarize', tags: ['tldr'] } },
          ].map(({ name, skill }) => ({
            card: { name, description: `the ${name}`, skills: [{ ...skill, description: `${name} text` }] },
            signer,
            executor: new InProcessExecutor((t) =>
              Promise.resolve({ state: 'completed', text: `${name}: ${t.text}` }),
            ),
          })),
          allowPrivate: true,
        }),
      ),
    );
    const grants = [
      { syscall: 'a2a.*', resource: 'a2a/*' },
      { syscall: 'a2a.call', resource: 'a2a/remote/*' },
    ];
    owner = await principal(grants);
    other = await principal(grants);
    reader = await principal([{ syscall: 'kernel.*', resource: '*' }]);
  });
  after(async () => {
    await sdk?.close();
    await strata?.close();
    await store?.close();
  });

  it('adds agents whose cards verify to the asked trust, and refuses the others', async () => {
    const translator = await call<Entry>(owner, 'a2a.directory.add', {
      url: `${strata.url}/a2a/translator`,
      trust: 'possession',
    });
    assert.equal(translator.name, 'translator');
    assert.ok(translator.kid && translator.possession);
    await call(owner, 'a2a.directory.add', { url: `${strata.url}/a2a/summarizer` });
    await assert.rejects(
      call(owner, 'a2a.directory.add', { url: sdk.url, trust: 'possession' }),
      withCode('E_A2A_POP_FAILED'),
    );
    const echo = await call<Entry>(owner, 'a2a.directory.add', { url: sdk.url });
    assert.deepEqual([echo.name, echo.possession], ['sdk-echo', false]);
    const again = await call<Entry>(owner, 'a2a.directory.add', {
      url: `${sdk.url}/.well-known/agent-card.json`,
    });
    assert.equal(again.id, echo.id, 'adding the same card again refreshes the entry');
  });

  it('finds agents by skill id, name or tag, and by words', async () => {
    const names = async (input: unknown) =>
      (await call<{ agents: Entry[] }>(owner, 'a2a.directory.search', input)).agents
        .map((a) => a.name)
        .sort();
    assert.deepEqual(await names({ skill: 'translate' }), ['translator']);
    assert.deepEqual(await names({ skill: 'GERMAN' }), ['translator']);
    assert.deepEqual(await names({ skill: 'Summarize' }), ['summarizer']);
    assert.deepEqual(await names({ skill: 'echo' }), ['sdk-echo']);
    assert.deepEqual(await names({ text: 'summarizer text' }), ['summarizer']);
    assert.deepEqual(await names({ skill: 'nothing-like-it' }), []);
    assert.deepEqual(await names({}), ['sdk-echo', 'summarizer', 'translator']);
  });

  it('records each a2a.call: the agent that answered ranks first; a failure keeps its error', async () => {
    const answer = await call<{ text: string }>(owner, 'a2a.call', {
      url: `${strata.url}/a2a/summarizer`,
      text: 'hello',
    });
    assert.equal(answer.text, 'summarizer: hello');
    await assert.rejects(
      call(owner, 'a2a.call', { url: sdk.url, text: 'hi', trust: 'possession' }),
      withCode('E_A2A_POP_FAILED'),
    );
    const { agents } = await call<{ agents: Entry[] }>(owner, 'a2a.directory.search', {});
    assert.equal(agents[0]?.name, 'summarizer', 'the agent that answered comes first');
    const summarizer = agents.find((a) => a.name === 'summarizer');
    assert.deepEqual([summarizer?.calls, summarizer?.failures], [1, 0]);
    assert.ok(summarizer?.lastSuccessAt);
    const echo = agents.find((a) => a.name === 'sdk-echo');
    assert.deepEqual([echo?.calls, echo?.failures, echo?.lastSuccessAt], [1, 1, null]);
    assert.match(echo?.lastError ?? '', /proof-of-possession/);
  });

  it('keeps tenants apart, checks grants, and removes', async () => {
    assert.deepEqual((await call<{ agents: Entry[] }>(other, 'a2a.directory.search', {})).agents, []);
    await assert.rejects(call(other, 'a2a.directory.get', { agent: sdk.url }), withCode('E_NOT_FOUND'));
    await assert.rejects(call(reader, 'a2a.directory.search', {}), withCode('E_CAPABILITY_DENIED'));
    await call(owner, 'a2a.directory.remove', { agent: sdk.url });
    await assert.rejects(call(owner, 'a2a.directory.get', { agent: sdk.url }), withCode('E_NOT_FOUND'));
  });

  it('refuses agents on private addresses outside test mode', async () => {
    const strict = await AgentDirectory.open({ store });
    await assert.rejects(strict.add('ten_x', sdk.url), withCode('E_A2A_PUSH_URL_REFUSED'));
  });
});
