/**
 * The runtime both of the demo's processes open on the same data directory (one SQLite file in
 * WAL mode, which takes writers from several processes): the same config, the scripted model
 * providers, the kernel's chaos injector, the pipeline's retries capped when mechanisms are off,
 * the workers' workflow on the `agents` queue (the child worker serves only that queue, so the
 * supervisors, reviews, planners and patch submissions always run in the parent), and the
 * reviewers bound to their workflow for A2A.
 */
import { createServer } from 'node:net';
import { loadConfig } from '../../src/kernel/index.ts';
import { createScriptedProvider } from '../../src/models/index.ts';
import { eraseWorkflow } from '../../src/orchestration/index.ts';
import { openRuntime } from '../../src/server/index.ts';
import type { FaultPlan } from './faults.ts';
import { BACKUP_MODEL, PRIMARY_MODEL, type Mechanisms } from './mechanisms.ts';
import { reviewWorkflow } from './review.ts';
import { fleetLayout } from './squads.ts';
import { submitPatch } from './submit-patch.ts';
import { workerAgent } from './worker-agent.ts';

export const AGENTS_QUEUE = 'agents';
/** The line the parent writes to the child worker's stdin when the fleet starts: chaos begins there too. */
export const START_CHAOS = 'chaos';

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
/**
 * The scripted model (the only stand-in for an LLM), keyed by the agent's own question; given
 * tools (only the planner is), it asks for the issue again every turn: the loop `maxTurns` stops.
 */
const scripted = (name: string) =>
  createScriptedProvider({
    name,
    script: (request, call) => {
      const prompt = request.messages.at(-1)?.content ?? '';
      const tool = request.tools?.[0];
      if (!tool) return reply(prompt);
      const issue = Number(/#(\d+)/.exec(JSON.stringify(request.messages))?.[1] ?? 0);
      return {
        ...reply(prompt),
        toolCalls: [{ id: `call_${call}`, name: tool.name, arguments: { number: issue } }],
      };
    },
  });

export interface DemoRuntimeOptions {
  readonly dataDir: string;
  readonly seed: number;
  readonly agents: number;
  readonly mechanisms: Mechanisms;
  /** This process's SMTP listener. */
  readonly smtpPort: number;
  /** Where outbound mail goes: the parent's listener (the lead's inbox is there). */
  readonly relayPort: number;
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
      // Each squad's reviewer answers A2A tasks with the review workflow (review.ts).
      a2a: {
        workflows: Object.fromEntries(
          fleetLayout(options.agents).squads.map((s) => [s.reviewer, 'demo.review']),
        ),
      },
      network: { allowPrivate: true }, // a2a.call to the demo's own server on loopback
    },
  });
  const runtime = await openRuntime({
    config,
    modelProviders: { demo: scripted('demo'), backup: scripted('backup') },
  });
  if (m.syscallAttempts !== undefined) runtime.kernel.registry.capAttempts(m.syscallAttempts);
  const { workflow, planner } = workerAgent(plan, {
    model: m.model,
    queue: AGENTS_QUEUE,
    ...(m.runRetry ? { retry: m.runRetry } : {}),
  });
  runtime.engine.register(eraseWorkflow(workflow));
  runtime.engine.register(eraseWorkflow(planner));
  runtime.engine.register(eraseWorkflow(submitPatch));
  runtime.engine.register(eraseWorkflow(reviewWorkflow(m.model, m.runRetry)));
  return { runtime, worker: workflow };
}
