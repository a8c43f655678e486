/**
 * @module cli/commands/tokens
 * `strata tokens issue | verify | revoke | attenuate | explain`: capability tokens, straight through the
 * kernel's CapabilityAuthority. Claims are printed without `prf` (the embedded parent token): it is
 * a bearer credential in its own right, and printing a child's claims must not leak its parent.
 */
import type { Command } from 'commander';
import type { CapabilityClaims, Grant } from '../../kernel/index.ts';
import { tenantOf, withRuntime } from '../context.ts';
import { grantList, when, type Output } from '../output.ts';
import { collectGrant, parseTtl } from '../parse.ts';
import { registerTokensExplain } from './tokens-explain.ts';

/** Claims safe to print: everything but the embedded parent token. */
function publicClaims(claims: CapabilityClaims): Omit<CapabilityClaims, 'prf'> {
  return {
    jti: claims.jti,
    iss: claims.iss,
    sub: claims.sub,
    ten: claims.ten,
    grants: claims.grants.map((g) => ({ ...g })),
    iat: claims.iat,
    exp: claims.exp,
    chain: [...claims.chain],
  };
}

function describeClaims(claims: CapabilityClaims): string {
  return [
    `  jti      ${claims.jti}`,
    `  tenant   ${claims.ten}`,
    `  subject  ${claims.sub}`,
    `  grants   ${grantList(claims.grants)}`,
    `  issued   ${when(claims.iat * 1000)}`,
    `  expires  ${when(claims.exp * 1000)}`,
    `  chain    ${claims.chain.length === 0 ? '(root token)' : claims.chain.join(' > ')}`,
  ].join('\n');
}

function printMinted(out: Output, minted: { token: string; claims: CapabilityClaims }, verb: string): void {
  out.result({ token: minted.token, claims: publicClaims(minted.claims) }, () =>
    [`${verb} token ${minted.claims.jti}`, describeClaims(minted.claims), '', minted.token].join('\n'),
  );
  out.note('Save the token now: it is shown only once.');
}

const GRANT_HELP = 'grant <syscall>[@<resource>] (resource defaults to *); repeatable';

export function registerTokens(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('issue, verify, revoke and attenuate capability tokens');

  tokens
    .command('issue')
    .description('mint a root capability token for a subject (an agent id or an API key id)')
    .requiredOption('--tenant <name|id>', 'tenant of the token')
    .requiredOption('--subject <subject>', 'who the token is for')
    .requiredOption('--grant <syscall[@resource]>', GRANT_HELP, collectGrant)
    .option('--ttl <duration>', 'lifetime: 3600, 30m, 1h, 7d', parseTtl, 3600)
    .action((options: { tenant: string; subject: string; grant: Grant[]; ttl: number }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        const minted = await runtime.kernel.authority.issue({
          tenantId: tenant.id,
          subject: options.subject,
          grants: options.grant,
          ttlSeconds: options.ttl,
        });
        printMinted(out, minted, 'issued');
      }),
    );

  tokens
    .command('verify')
    .description('verify a token (signature, chain, expiry, revocation) and print its claims')
    .argument('<token>', 'the capability token')
    .action((token: string, _options: unknown, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const claims = await runtime.kernel.authority.verify(token);
        out.result({ valid: true, claims: publicClaims(claims) }, () =>
          [`valid token ${claims.jti}`, describeClaims(claims)].join('\n'),
        );
      }),
    );

  tokens
    .command('revoke')
    .description('revoke a token and every token derived from it')
    .requiredOption('--tenant <name|id>', 'tenant of the token')
    .argument('<jti>', 'token id (tok_…)')
    .option('--reason <reason>', 'why, kept with the revocation', 'revoked by operator')
    .action((jti: string, options: { tenant: string; reason: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        await runtime.kernel.authority.revoke(tenant.id, jti, options.reason);
        out.result({ jti, tenantId: tenant.id, revoked: true }, () => `revoked token ${jti}`);
      }),
    );

  tokens
    .command('attenuate')
    .description('derive a narrower, no longer-lived token from a parent token')
    .argument('<parentToken>', 'the parent capability token')
    .requiredOption(
      '--grant <syscall[@resource]>',
      `${GRANT_HELP}; each must be covered by the parent`,
      collectGrant,
    )
    .option('--ttl <duration>', 'lifetime (default: the parent’s expiry)', parseTtl)
    .option('--subject <subject>', 'subject of the child (default: the parent’s)')
    .action((parent: string, options: { grant: Grant[]; ttl?: number; subject?: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const minted = await runtime.kernel.authority.attenuate(parent, {
          grants: options.grant,
          ttlSeconds: options.ttl,
          subject: options.subject,
        });
        printMinted(out, minted, 'derived');
      }),
    );
  registerTokensExplain(tokens);
}
