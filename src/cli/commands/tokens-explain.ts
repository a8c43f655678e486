/**
 * @module cli/commands/tokens-explain
 * `strata tokens explain <invocation|->`: prints a delegated invocation's proof chain, link by link,
 * and the rule that allowed or refused it (the `identity.delegation.explain` syscall, audited; it
 * never uses the invocation up). A refusal exits with its code's exit status.
 */
import type { Command } from 'commander';
import { ERROR_CODES, type StrataErrorCode } from '../../kernel/errors.ts';
import { callAs, print, withAuth, type AuthOptions } from './call-input.ts';

type Link = {
  link: number | string;
  cid: string;
  iss: string;
  aud?: string;
  cmd: string;
  pol?: unknown;
  exp?: number;
};
type Explanation = {
  allowed: boolean;
  rule: string;
  code?: string;
  message: string;
  link?: number | string;
  chain: Link[];
};

async function readArgument(value: string): Promise<string> {
  if (value !== '-') return value.trim();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

const short = (did: string | undefined): string => (did ? `${did.slice(0, 16)}…${did.slice(-6)}` : '-');

function render(out: Explanation): string {
  const lines = out.chain.map(
    (l) =>
      `${typeof l.link === 'number' ? `#${l.link}` : l.link}  ${short(l.iss)} → ${short(l.aud)}  ${l.cmd}  ` +
      `pol ${JSON.stringify(l.pol ?? [])}  exp ${l.exp === undefined ? '-' : new Date(l.exp * 1000).toISOString()}  ${l.cid}`,
  );
  lines.push(
    out.allowed
      ? `ALLOWED (${out.rule})`
      : `REFUSED ${out.code ?? ''} (${out.rule})${out.link === undefined ? '' : ` at proof ${out.link}`}: ${out.message}`,
  );
  return lines.join('\n');
}

export function registerTokensExplain(tokens: Command): void {
  withAuth(
    tokens
      .command('explain')
      .description('show a delegated invocation’s proof chain and the rule that allowed or refused it'),
  )
    .argument('<invocation>', 'the invocation JWS, or - to read it from stdin')
    .action(async (value: string, options: AuthOptions, command: Command) => {
      const invocation = await readArgument(value);
      const out = (await callAs(command, options, 'identity.delegation.explain', {
        invocation,
      })) as Explanation;
      print(command, out, () => render(out));
      if (!out.allowed && out.code && out.code in ERROR_CODES)
        process.exitCode = ERROR_CODES[out.code as StrataErrorCode].exit;
    });
}
