import { randomBytes } from 'node:crypto';
import { Kernel, openStore, StrataError } from './src/kernel/index.ts';
import {
  createScriptedProvider,
  ModelService,
  modelSyscalls,
  parseModelsConfig,
} from './src/models/index.ts';
import type { ModelResult } from './src/models/index.ts';

const config = parseModelsConfig({
  providers: [
    { name: 'primary', driver: 'scripted', models: ['big'], retry: { attempts: 2, baseDelayMs: 5 } },
    { name: 'backup', driver: 'scripted', models: ['small'] },
  ],
  routes: { smart: ['primary/big', 'backup/small'] }, // try primary, fall back to backup
  prices: { 'primary/big': { input: 3, output: 15 }, 'backup/small': { input: 0.5, output: 1.5 } },
});
const down = { error: new StrataError('E_MODEL_UNAVAILABLE', 'HTTP 503') };
const providers = {
  primary: createScriptedProvider({ script: [down, down] }), // fails twice: retried, then skipped
  backup: createScriptedProvider({
    script: [{ text: 'Oslo: 4°C, light rain.', usage: { inputTokens: 1200, outputTokens: 400 } }],
  }),
};
const store = await openStore('sqlite::memory:');
const kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
for (const syscall of modelSyscalls(new ModelService({ config, providers }))) kernel.register(syscall);
const { id: tenantId } = await kernel.principals.createTenant('demo');
const { key } = await kernel.principals.createApiKey({
  tenantId,
  name: 'agent',
  grants: [{ syscall: 'model.generate', resource: 'models/smart' }],
});
const principal = await kernel.authenticate({ apiKey: key });

const answer = await kernel.call<ModelResult>(
  'model.generate',
  { model: 'smart', messages: [{ role: 'user', content: 'Weather in Oslo?' }] },
  { principal },
);
console.log(answer.text);
console.log(answer.attempts.map((a) => `${a.target} ${a.outcome}`).join(', '));
console.log(
  `${answer.usage.inputTokens} in, ${answer.usage.outputTokens} out: ${answer.costMicros} micro-USD`,
);
await kernel.close();
