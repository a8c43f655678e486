/**
 * @module cli/commands/models
 * `strata models ls` (configured targets, routes and prices), `strata models capacity` (admission
 * buckets of this process: used of limits, queued, Retry-After pauses) and `strata models try` (one call
 * through the `model.generate` syscall: capability-checked, metered, audited like any other).
 */
import type { Command } from 'commander';
import type { ModelResult } from '../../models/index.ts';
import { configOf, withRuntime } from '../context.ts';
import { table } from '../output.ts';
import { credentialsFor } from './call-input.ts';

export function registerModels(program: Command): void {
  const models = program.command('models').description('list configured models and try one');

  models
    .command('ls')
    .description('list the configured provider/model targets, routes and prices')
    .action((_options: unknown, command: Command) =>
      withRuntime(command, (runtime, out) => {
        const { targets, routes, embeddings } = runtime.models.list();
        const { prices } = runtime.models.config;
        const rows = [
          ...targets.map((t) => [t, 'chat', prices[t] ? `${prices[t].input} / ${prices[t].output}` : '-']),
          ...embeddings.map((t) => [t, 'embeddings', prices[t] ? `${prices[t].input}` : '-']),
          ...Object.entries(routes).map(([name, list]) => [name, `route → ${list.join(' → ')}`, '-']),
        ];
        out.result({ targets, embeddings, routes, prices }, () =>
          rows.length === 0
            ? 'no models configured (add a "models" section to strata.config.json)'
            : table(['MODEL', 'KIND', 'USD PER 1M IN / OUT'], rows),
        );
        return Promise.resolve();
      }),
    );

  models
    .command('capacity')
    .description('show admission per (provider, model, account): used of limits, queued, Retry-After pause')
    .action((_options: unknown, command: Command) =>
      withRuntime(command, (runtime, out) => {
        const buckets = runtime.models.capacity.snapshot().map((b) => ({
          ...b,
          pausedUntil: b.pausedUntil === null ? null : new Date(b.pausedUntil).toISOString(),
        }));
        const of = (u: { used: number; limit: number | null }): string =>
          u.limit === null ? `${u.used} / -` : `${u.used} / ${u.limit}`;
        out.result({ buckets }, () =>
          buckets.length === 0
            ? 'no models configured (add a "models" section to strata.config.json)'
            : table(
                ['MODEL', 'ACCOUNT', 'REQUESTS', 'TOKENS', 'CONCURRENT', 'QUEUED', 'PAUSED UNTIL'],
                buckets.map((b) => [
                  `${b.provider}/${b.model}`,
                  b.account,
                  of(b.requests),
                  of(b.tokens),
                  of(b.concurrency),
                  String(b.queued),
                  b.pausedUntil ?? '-',
                ]),
              ),
        );
        return Promise.resolve();
      }),
    );

  models
    .command('try')
    .description('send one prompt through model.generate and print the answer, usage and cost')
    .argument('<prompt>', 'the user message')
    .requiredOption('--model <model>', '<provider>/<model> or a route name')
    .option('--provider <provider>', 'provider name; with --model <model>, targets <provider>/<model>')
    .option('--system <text>', 'a system message')
    .option('--max-tokens <n>', 'cap on output tokens', (v) => Number.parseInt(v, 10))
    .option('--key <apiKey>', 'API key (default: env STRATA_API_KEY, then <dataDir>/admin.key)')
    .action(
      async (
        prompt: string,
        options: { model: string; provider?: string; system?: string; maxTokens?: number; key?: string },
        command: Command,
      ) => {
        const credentials = credentialsFor(options, configOf(command));
        await withRuntime(command, async (runtime, out) => {
          const principal = await runtime.kernel.authenticate(credentials);
          const model = options.provider ? `${options.provider}/${options.model}` : options.model;
          const messages = [
            ...(options.system ? [{ role: 'system', content: options.system }] : []),
            { role: 'user', content: prompt },
          ];
          const result = await runtime.kernel.call<ModelResult>(
            'model.generate',
            { model, messages, ...(options.maxTokens ? { maxTokens: options.maxTokens } : {}) },
            { principal },
          );
          out.result(result, () =>
            [
              result.text || JSON.stringify(result.toolCalls),
              '',
              `${result.target} · ${result.finishReason} · ${result.usage.inputTokens} in / ${result.usage.outputTokens} out · ` +
                `$${(result.costMicros / 1e6).toFixed(6)}` +
                (result.attempts.length > 1
                  ? ` · attempts: ${result.attempts.map((a) => `${a.target} ${a.outcome}`).join(', ')}`
                  : ''),
            ].join('\n'),
          );
        });
      },
    );
}
