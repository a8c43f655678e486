/**
 * Test support for the agent loop (not exported): the orchestration harness plus the real tools
 * layer (native tools) and the real model service over a provider made in the test (the scripted
 * provider, or one wrapping it), with every syscall registered on the harness's kernel.
 */
import { randomBytes } from 'node:crypto';
import { ModelService, modelSyscalls, parseModelsConfig, type ModelProvider } from '../../models/index.ts';
import type { StoreHandle } from '../../testkit/stores.ts';
import { ToolsLayer, toolsSyscalls, type Tool } from '../../tools/index.ts';
import { RunStreams } from '../streaming/run-streams.ts';
import { harness, type Harness } from '../testing.ts';
import { AGENT_LAYER, agentMigrations } from './blobs.ts';

export interface AgentHarness extends Harness {
  readonly tools: ToolsLayer;
  /** The token side channel, when opened with `streams: true` (model calls then stream). */
  readonly streams: RunStreams | undefined;
}

const masterKey = randomBytes(32);

/** Opens a harness on `db` whose models are served by `provider` (as provider `scripted`, model `m`). */
export async function agentHarness(
  db: StoreHandle,
  options: {
    provider: ModelProvider;
    tools?: readonly Tool[];
    tenant?: string;
    models?: readonly string[];
    streams?: boolean;
  },
): Promise<AgentHarness> {
  const h = await harness(db, options.tenant);
  await h.store.migrate(AGENT_LAYER, agentMigrations);
  const tools = await ToolsLayer.open({ store: h.store, masterKey });
  for (const tool of options.tools ?? []) tools.register(tool);
  for (const definition of toolsSyscalls(tools)) h.kernel.register(definition);
  const config = parseModelsConfig({
    providers: [
      { name: 'scripted', driver: 'scripted', models: options.models ?? ['m'], retry: { attempts: 1 } },
    ],
    maxPromptTokens: 1_000_000,
  });
  const models = new ModelService({ config, providers: { scripted: options.provider } });
  const streams = options.streams ? await RunStreams.open({ store: h.store }) : undefined;
  for (const definition of modelSyscalls(models, { deltas: streams })) h.kernel.register(definition);
  return {
    ...h,
    tools,
    streams,
    async close() {
      await tools.close();
      await h.close();
    },
  };
}
