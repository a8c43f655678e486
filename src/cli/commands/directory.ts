/**
 * @module cli/commands/directory
 * `strata agents directory add|ls|search|show|rm`: the tenant's directory of remote A2A agents
 * through the `a2a.directory.*` syscalls (in process, as the caller's key or token).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { table } from '../output.ts';
import { callAs, print, withAuth, type AuthOptions } from './call-input.ts';

type Entry = {
  id: string;
  name: string;
  cardUrl: string;
  description: string;
  skills: { id: string; name: string; tags: string[] }[];
  kid: string | null;
  possession: boolean;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  calls: number;
  failures: number;
};

const HEADER = ['ID', 'NAME', 'SKILLS', 'TRUST', 'LAST OK', 'CALLS', 'FAILED', 'CARD'];
const trustOf = (e: Entry): string => (e.possession ? 'possession' : e.kid ? 'signed' : 'none');
const row = (e: Entry): string[] => [
  e.id,
  e.name,
  e.skills.map((s) => s.id).join(','),
  trustOf(e),
  e.lastSuccessAt ?? '-',
  String(e.calls),
  String(e.failures),
  e.cardUrl,
];
const listing = (entries: readonly Entry[]): string =>
  entries.length === 0 ? 'no agents' : table(HEADER, entries.map(row));

function describe(e: Entry): string {
  return [
    `id           ${e.id}`,
    `name         ${e.name}`,
    `card         ${e.cardUrl}`,
    `trust        ${trustOf(e)}${e.kid ? ` (kid ${e.kid})` : ''}`,
    `description  ${e.description}`,
    'skills',
    ...e.skills.map((s) => `  ${s.id}  ${s.name}${s.tags.length ? `  [${s.tags.join(', ')}]` : ''}`),
    `calls        ${e.calls} (${e.failures} failed)`,
    `last ok      ${e.lastSuccessAt ?? '-'}`,
    ...(e.lastError ? [`last error   ${e.lastFailureAt ?? ''} ${e.lastError}`] : []),
  ].join('\n');
}

function httpUrl(text: string): string {
  if (!/^https?:\/\//.test(text)) throw new InvalidArgumentError(`"${text}" is not an http(s) URL`);
  return text;
}

export function registerDirectory(agents: Command): void {
  const directory = agents
    .command('directory')
    .description('remote A2A agents you know: added from verified cards, searchable by skill');

  withAuth(directory.command('add').description('verify an agent’s card and add (or refresh) it'))
    .argument('<url>', 'the agent’s base URL or card URL', httpUrl)
    .addOption(
      new Option('--trust <level>', 'what the card must prove')
        .choices(['none', 'signed', 'possession'])
        .default('signed'),
    )
    .action(async (url: string, options: AuthOptions & { trust: string }, command: Command) => {
      const out = (await callAs(command, options, 'a2a.directory.add', {
        url,
        trust: options.trust,
      })) as Entry;
      print(command, out, () => describe(out));
    });

  withAuth(
    directory.command('ls').description('every agent, those that answered most recently first'),
  ).action(async (options: AuthOptions, command: Command) => {
    const out = (await callAs(command, options, 'a2a.directory.search', {})) as { agents: Entry[] };
    print(command, out, () => listing(out.agents));
  });

  withAuth(directory.command('search').description('agents with a skill (id, name or tag) and/or words'))
    .argument('[words...]', 'words their card contains')
    .option('--skill <skill>', 'a skill id, name or tag')
    .action(async (words: string[], options: AuthOptions & { skill?: string }, command: Command) => {
      const input = {
        ...(options.skill ? { skill: options.skill } : {}),
        ...(words.length ? { text: words.join(' ') } : {}),
      };
      const out = (await callAs(command, options, 'a2a.directory.search', input)) as { agents: Entry[] };
      print(command, out, () => listing(out.agents));
    });

  withAuth(directory.command('show').description('one agent: skills, trust, call history'))
    .argument('<agent>', 'entry id or card URL')
    .action(async (agent: string, options: AuthOptions, command: Command) => {
      const out = (await callAs(command, options, 'a2a.directory.get', { agent })) as Entry;
      print(command, out, () => describe(out));
    });

  withAuth(directory.command('rm').description('remove an agent from the directory'))
    .argument('<agent>', 'entry id or card URL')
    .action(async (agent: string, options: AuthOptions, command: Command) => {
      const out = await callAs(command, options, 'a2a.directory.remove', { agent });
      print(command, out, () => `removed ${agent}`);
    });
}
