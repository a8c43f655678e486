/**
 * The runtime both of the demo's processes open on the same data directory (one SQLite file in
 * WAL mode, which takes writers from several processes): the same config, the scripted model
 * providers, the kernel's chaos injector, the pipeline's retries capped when mechanisms are off,
 * and the agents' workflow on the `agents` queue (the child worker serves only that queue, so the
 * team's supervisor always runs in the parent).
 */
import { createServer } from 'node:net';
import { chaosSchema, loadConfig } from '../../src/kernel/index.ts';
import { createScriptedProvider } from '../../src/models/index.ts';
import { eraseWorkflow } from '../../src/orchestration/index.ts';
import { openRuntime } from '../../src/server/index.ts';
import { chaosConfig } from './chaos-plan.ts';
import type { FaultPlan } from './faults.ts';
import { BACKUP_MODEL, PRIMARY_MODEL, type Mechanisms } from './mechanisms.ts';
import { submitPatch } from './submit-patch.ts';
import { triageAgent } from './triage-agent.ts';

export const AGENTS_QUEUE = 'agents';

/** A free loopback port (each process's SMTP listener). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

const reply = (prompt: string) => {
  const text = `ok: ${prompt.slice(-60)}`;
  return { text, usage: { inputTokens: 600 + prompt.length, outputTokens: 40 + text.length } };
};
/** The scripted model (the only stand-in for an LLM), keyed by the agent's own question. */
const scripted = (name: string) =>
  createScriptedProvider({ name, script: (request) => reply(request.messages.at(-1)?.content ?? '') });

export interface DemoRuntimeOptions {
  readonly dataDir: string;
  readonly seed: number;
  readonly agents: number;
  readonly mechanisms: Mechanisms;
  /** This process's SMTP listener. */
  readonly smtpPort: number;
  /** Where outbound mail goes: the parent's listener (the lead's inbox is there). */
  readonly relayPort: number;
  /** The child starts with chaos on; the parent turns it on through `chaos.set` when the fleet starts. */
  readonly chaos: boolean;
}

export async function openDemoRuntime(options: DemoRuntimeOptions, plan: FaultPlan) {
  const m = options.mechanisms;
  const config = loadConfig({
    overrides: {
      dataDir: options.dataDir,
      models: {
        providers: [
          { name: 'demo', driver: 'scripted', models: ['triage'], retry: { attempts: 1 } },
          { name: 'backup', driver: 'scripted', models: ['triage'], retry: { attempts: 1 } },
        ],
        routes: m.routes,
        prices: { [PRIMARY_MODEL]: { input: 3, output: 15 }, [BACKUP_MODEL]: { input: 3, output: 15 } },
      },
      mail: { smtpPort: options.smtpPort, relayUrl: `smtp://127.0.0.1:${options.relayPort}` },
      ...(options.chaos ? { chaos: chaosSchema.parse(chaosConfig(options.seed, options.agents)) } : {}),
    },
  });
  const runtime = await openRuntime({
    config,
    modelProviders: { demo: scripted('demo'), backup: scripted('backup') },
  });
  if (m.syscallAttempts !== undefined) runtime.kernel.registry.capAttempts(m.syscallAttempts);
  const triage = triageAgent(plan, {
    model: m.model,
    queue: AGENTS_QUEUE,
    ...(m.runRetry ? { retry: m.runRetry } : {}),
  });
  runtime.engine.register(eraseWorkflow(triage));
  runtime.engine.register(eraseWorkflow(submitPatch));
  return { runtime, triage };
}
