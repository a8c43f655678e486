/**
 * @module cli/commands/memory
 * `strata memory add|search|get|history|list|update|delete|export|import`: the `memory.*`
 * syscalls from the command line. Calls run in process through the kernel pipeline (like
 * `strata syscalls call`), so they are capability-checked and audited; `--user`, `--agent` and
 * `--run` give the scope.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import type { Hit, Memory } from '../../memory/index.ts';
import { configOf, withRuntime } from '../context.ts';
import { table, when } from '../output.ts';
import { parseInteger } from '../parse.ts';
import { credentialsFor } from './call-input.ts';

interface ScopeOptions {
  user?: string;
  agent?: string;
  run?: string;
  key?: string;
  token?: string;
}

function scopeOf(o: ScopeOptions): Record<string, string> {
  const scope: Record<string, string> = {};
  if (o.user !== undefined) scope['userId'] = o.user;
  if (o.agent !== undefined) scope['agentId'] = o.agent;
  if (o.run !== undefined) scope['runId'] = o.run;
  return scope;
}

/** Adds the scope and credential options to a subcommand. */
function scoped(command: Command): Command {
  return command
    .option('--user <id>', 'user scope')
    .option('--agent <id>', 'agent scope')
    .option('--run <id>', 'run scope')
    .option('--key <apiKey>', 'API key (default: env STRATA_API_KEY, then <dataDir>/admin.key)')
    .option('--token <token>', 'capability token');
}

/** Runs one memory syscall as the caller and prints its result. */
async function call<T>(
  command: Command,
  syscall: string,
  input: Record<string, unknown>,
  human: (output: T) => string,
): Promise<void> {
  const credentials = credentialsFor(command.opts<ScopeOptions>(), configOf(command));
  await withRuntime(command, async (runtime, out) => {
    const principal = await runtime.kernel.authenticate(credentials);
    const output = await runtime.kernel.call<T>(syscall, input, { principal });
    out.result(output, () => human(output));
  });
}

const memoryRow = (m: Memory): string[] => [m.id, m.kind, m.status, when(m.eventAt), m.text.slice(0, 80)];

export function registerMemory(program: Command): void {
  const memory = program.command('memory').description('agent memory: add, search, history, export/import');

  scoped(memory.command('add'))
    .description('add a text (or --messages JSON) to a scope; facts are extracted unless --no-infer')
    .argument('[text]', 'the text to remember')
    .option('--messages <json>', 'messages as a JSON array of {role?, name?, content, id?, at?}')
    .option('--no-infer', 'store the text verbatim as one fact')
    .action(
      async (
        text: string | undefined,
        o: ScopeOptions & { messages?: string; infer: boolean },
        command: Command,
      ) => {
        let messages: unknown;
        if (o.messages !== undefined) {
          try {
            messages = JSON.parse(o.messages);
          } catch (cause) {
            throw new StrataError('E_BAD_REQUEST', '--messages is not valid JSON', undefined, { cause });
          }
        }
        const input = {
          scope: scopeOf(o),
          infer: o.infer,
          ...(messages === undefined ? { text: text ?? '' } : { messages }),
        };
        await call<{ results: { event: string; id: string; text: string }[] }>(
          command,
          'memory.add',
          input,
          (r) =>
            r.results.length === 0
              ? 'nothing new'
              : table(
                  ['EVENT', 'ID', 'TEXT'],
                  r.results.map((x) => [x.event, x.id, x.text]),
                ),
        );
      },
    );

  scoped(memory.command('search'))
    .description('hybrid search in a scope')
    .argument('<query>')
    .option('-k, --k <n>', 'number of hits', parseInteger, 10)
    .option('--neighbors <n>', 'attach the next N messages to each hit', parseInteger, 0)
    .action(async (query: string, o: ScopeOptions & { k: number; neighbors: number }, command: Command) => {
      await call<{ hits: Hit[] }>(
        command,
        'memory.search',
        { scope: scopeOf(o), query, k: o.k, neighbors: o.neighbors },
        (r) =>
          r.hits.length === 0
            ? 'no hits'
            : table(
                ['SCORE', 'ID', 'SIGNALS', 'TEXT'],
                r.hits.map((h) => [
                  h.score.toFixed(4),
                  h.memory.id,
                  Object.keys(h.signals).join('+'),
                  h.memory.text.slice(0, 80),
                ]),
              ),
      );
    });

  for (const [name, syscall, description] of [
    ['get', 'memory.get', 'show one memory'],
    ['delete', 'memory.delete', 'delete a memory (history kept)'],
  ] as const) {
    scoped(memory.command(name))
      .description(description)
      .argument('<id>')
      .action(async (id: string, o: ScopeOptions, command: Command) => {
        await call<Memory>(command, syscall, { scope: scopeOf(o), id }, (m) => JSON.stringify(m, null, 2));
      });
  }

  scoped(memory.command('update'))
    .description('replace a fact’s text (the old text stays in history)')
    .argument('<id>')
    .argument('<text>')
    .action(async (id: string, text: string, o: ScopeOptions, command: Command) => {
      await call<Memory>(
        command,
        'memory.update',
        { scope: scopeOf(o), id, text },
        (m) => `${m.id}: ${m.text}`,
      );
    });

  scoped(memory.command('history'))
    .description('every change of a memory')
    .argument('<id>')
    .action(async (id: string, o: ScopeOptions, command: Command) => {
      await call<{
        entries: {
          event: string;
          at: number;
          oldText: string | null;
          newText: string | null;
          reason: string;
        }[];
      }>(command, 'memory.history', { scope: scopeOf(o), id }, (r) =>
        table(
          ['WHEN', 'EVENT', 'TEXT', 'REASON'],
          r.entries.map((e) => [when(e.at), e.event, e.newText ?? e.oldText ?? '', e.reason]),
        ),
      );
    });

  scoped(memory.command('list'))
    .description('list a scope’s memories')
    .option('--kind <kind>', 'fact or message')
    .option('--status <status>', 'active (default), invalid, deleted or all')
    .option('--limit <n>', 'page size', parseInteger, 100)
    .action(async (o: ScopeOptions & { kind?: string; status?: string; limit: number }, command: Command) => {
      await call<{ memories: Memory[] }>(
        command,
        'memory.list',
        { scope: scopeOf(o), kind: o.kind, status: o.status, limit: o.limit },
        (r) => table(['ID', 'KIND', 'STATUS', 'WHEN', 'TEXT'], r.memories.map(memoryRow)),
      );
    });

  scoped(memory.command('export'))
    .description('export a scope as JSON Lines (format strata.memory v1)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(async (o: ScopeOptions & { output?: string }, command: Command) => {
      const credentials = credentialsFor(o, configOf(command));
      await withRuntime(command, async (runtime) => {
        const principal = await runtime.kernel.authenticate(credentials);
        const { jsonl } = await runtime.kernel.call<{ jsonl: string }>(
          'memory.export',
          { scope: scopeOf(o) },
          { principal },
        );
        if (o.output === undefined) process.stdout.write(jsonl);
        else writeFileSync(o.output, jsonl);
      });
    });

  scoped(memory.command('import'))
    .description('import a JSON Lines export into a scope (all or nothing)')
    .argument('<file>', 'the .jsonl file, or - for stdin')
    .action(async (file: string, o: ScopeOptions, command: Command) => {
      const jsonl = readFileSync(file === '-' ? 0 : file, 'utf8');
      await call<{ memories: number; history: number }>(
        command,
        'memory.import',
        { scope: scopeOf(o), jsonl },
        (r) => `imported ${r.memories} memories and ${r.history} history entries`,
      );
    });
}
