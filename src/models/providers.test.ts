// Every model driver passes the shared conformance suite: the OpenAI-compatible and Anthropic
// drivers against local servers speaking their wire formats, and the scripted provider.
import { after, before } from 'node:test';
import {
  describeModelProviderConformance,
  type ProviderUnderTest,
} from '../testkit/model-provider-conformance.ts';
import {
  startAnthropicWireServer,
  startOpenAIWireServer,
  type Behaviour,
  type WireServer,
} from '../../test/fixtures/model-wire-servers.ts';
import { createAnthropicProvider } from './drivers/anthropic/index.ts';
import { createOpenAICompatibleProvider } from './drivers/openai-compatible/index.ts';
import { createScriptedProvider } from './drivers/scripted/index.ts';

let openai: WireServer;
let anthropic: WireServer;
before(async () => {
  openai = await startOpenAIWireServer();
  anthropic = await startAnthropicWireServer();
});
after(async () => {
  await openai.close();
  await anthropic.close();
});

type Reply = Parameters<ProviderUnderTest['prepare']>[0];
const behaviour = (r: Reply): Behaviour =>
  'text' in r ? { kind: 'text', text: r.text } : { kind: 'tool', name: r.tool.name, args: r.tool.args };

describeModelProviderConformance('openai-compatible', () => ({
  model: 'gpt-test',
  prepare: (...replies) => {
    openai.queue(...replies.map(behaviour));
    return createOpenAICompatibleProvider({ name: 'openai', baseUrl: `${openai.url}/v1`, apiKey: 'sk-test' });
  },
}));

describeModelProviderConformance('anthropic', () => ({
  model: 'claude-test',
  prepare: (...replies) => {
    anthropic.queue(...replies.map(behaviour));
    return createAnthropicProvider({ name: 'anthropic', baseUrl: anthropic.url, apiKey: 'sk-ant-test' });
  },
}));

describeModelProviderConformance('scripted', () => ({
  model: 'scripted-1',
  prepare: (...replies) =>
    createScriptedProvider({
      script: replies.map((r) =>
        'text' in r
          ? { text: r.text }
          : { toolCalls: [{ id: 'call_1', name: r.tool.name, arguments: r.tool.args }] },
      ),
    }),
}));
