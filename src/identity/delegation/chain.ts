/**
 * @module identity/delegation/chain
 * The rules an invocation must pass, in a fixed order so a refusal always names the same rule:
 *
 * 1. every token is a well-formed compact JWS (`well-formed`), signed with EdDSA (`alg-eddsa`) by
 *    its issuer's did:key (`signature`);
 * 2. the chain is aligned: the root is issued by the subject (`root-issued-by-subject`), `sub` never
 *    changes (`subject-constant`), each `aud` is the next link's `iss` (`audience-is-next-issuer`),
 *    and the invocation is signed by the final audience (`invoker-is-final-audience`): a stolen
 *    delegation is useless without its audience's private key;
 * 3. each link only narrows its parent: a command at or below the parent's, by whole segments
 *    (`command-narrows`), and a policy repeating every parent statement (`policy-tightens`);
 * 4. every link and the invocation are inside their time bounds (`time-bounds`);
 * 5. no link is revoked (`not-revoked`): revoking one link refuses every chain through it;
 * 6. the invoked command is covered (`command-covered`) and the arguments satisfy every link's
 *    policy (`policy-holds`);
 * 7. the subject is one this verifier serves (`subject-trusted`, when configured) and the
 *    invocation's nonce is unused (`nonce-unused`).
 */
import { StrataError, type StrataErrorCode } from '../../kernel/index.ts';
import { commandCovers } from './command.ts';
import { droppedStatement, failingStatement, type Policy } from './policy.ts';
import {
  describe,
  linkId,
  openDelegation,
  openInvocation,
  type DelegationClaims,
  type InvocationClaims,
  type LinkRef,
} from './tokens.ts';

/** Invocations are one-shot and short-lived; their nonces are kept until `exp`. */
export const MAX_INVOCATION_TTL_SECONDS = 3600;
const MAX_CLOCK_SKEW_SECONDS = 60;

/** One link as shown by explain(): its id and claims. */
export interface LinkView {
  readonly link: LinkRef;
  readonly cid: string;
  readonly iss: string;
  readonly aud?: string;
  readonly sub: string;
  readonly cmd: string;
  readonly pol?: Policy;
  readonly nbf?: number;
  readonly exp: number;
}

export interface VerifiedInvocation {
  readonly cid: string;
  readonly invoker: string;
  readonly sub: string;
  readonly cmd: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly nonce: string;
  readonly exp: number;
  /** The proofs, root first, then the invocation. */
  readonly chain: readonly LinkView[];
}

/** What the checks need from outside: the time and three lookups. */
export interface ChainContext {
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The first of these link ids that is revoked, if any. */
  readonly revoked: (cids: readonly string[]) => Promise<string | undefined>;
  readonly nonceUsed: (issuer: string, nonce: string) => Promise<boolean>;
  /** Whether this verifier serves `sub`; every subject when absent. */
  readonly trustedSubject?: (sub: string) => Promise<boolean>;
}

/** Rule names by code, for errors raised before a rule is known (decoding). */
export const DEFAULT_RULE: Partial<Record<StrataErrorCode, string>> = {
  E_DELEGATION_MALFORMED: 'well-formed',
  E_DELEGATION_ALG: 'alg-eddsa',
  E_DELEGATION_SIGNATURE: 'signature',
};

function refuse(
  code: StrataErrorCode,
  rule: string,
  message: string,
  data: Record<string, unknown> = {},
): never {
  throw new StrataError(code, message, { rule, ...data });
}

const view = (link: LinkRef, jws: string, c: DelegationClaims | InvocationClaims): LinkView => ({
  link,
  cid: linkId(jws),
  iss: c.iss,
  ...('aud' in c && c.aud !== undefined ? { aud: c.aud } : {}),
  sub: c.sub,
  cmd: c.cmd,
  ...('pol' in c ? { pol: c.pol } : {}),
  ...('nbf' in c && c.nbf !== undefined ? { nbf: c.nbf } : {}),
  exp: c.exp,
});

function checkAlignment(proofs: readonly DelegationClaims[], inv: InvocationClaims): void {
  const root = proofs[0];
  if (root !== undefined && root.iss !== root.sub) {
    refuse(
      'E_DELEGATION_CHAIN',
      'root-issued-by-subject',
      'the root delegation is not issued by its subject',
      {
        link: 0,
      },
    );
  }
  proofs.forEach((p, i) => {
    if (p.sub !== inv.sub) {
      refuse('E_DELEGATION_CHAIN', 'subject-constant', `${describe(i)} is about another subject`, {
        link: i,
      });
    }
    const next = proofs[i + 1];
    if (next !== undefined && p.aud !== next.iss) {
      refuse(
        'E_DELEGATION_CHAIN',
        'audience-is-next-issuer',
        `${describe(i + 1)} is not issued by the audience of ${describe(i)}`,
        {
          link: i + 1,
        },
      );
    }
  });
  const holder = proofs.at(-1)?.aud ?? inv.sub;
  if (inv.iss !== holder) {
    refuse(
      'E_DELEGATION_INVOKER',
      'invoker-is-final-audience',
      'the invocation is not signed by the final audience',
      {
        link: 'invocation',
        expected: holder,
        invoker: inv.iss,
      },
    );
  }
}

function checkAttenuation(proofs: readonly DelegationClaims[]): void {
  for (let i = 1; i < proofs.length; i++) {
    const parent = proofs[i - 1] as DelegationClaims;
    const child = proofs[i] as DelegationClaims;
    if (!commandCovers(parent.cmd, child.cmd)) {
      refuse(
        'E_DELEGATION_ATTENUATION',
        'command-narrows',
        `${describe(i)} widens the command ${parent.cmd} to ${child.cmd}`,
        {
          link: i,
        },
      );
    }
    const dropped = droppedStatement(parent.pol, child.pol);
    if (dropped !== undefined) {
      refuse(
        'E_DELEGATION_ATTENUATION',
        'policy-tightens',
        `${describe(i)} drops a policy statement of its parent`,
        {
          link: i,
          predicate: dropped,
        },
      );
    }
  }
}

function checkTime(proofs: readonly DelegationClaims[], inv: InvocationClaims, now: number): void {
  const late = (exp: number): boolean => now >= exp * 1000;
  const early = (nbf: number | undefined): boolean => nbf !== undefined && now < nbf * 1000;
  proofs.forEach((p, i) => {
    if (late(p.exp) || early(p.nbf)) {
      refuse(
        'E_DELEGATION_EXPIRED',
        'time-bounds',
        `${describe(i)} is ${late(p.exp) ? 'expired' : 'not yet valid'}`,
        {
          link: i,
        },
      );
    }
  });
  const nowSeconds = now / 1000;
  if (
    late(inv.exp) ||
    inv.iat > nowSeconds + MAX_CLOCK_SKEW_SECONDS ||
    inv.exp - inv.iat > MAX_INVOCATION_TTL_SECONDS
  ) {
    refuse(
      'E_DELEGATION_EXPIRED',
      'time-bounds',
      `the invocation is expired, from the future or lives over ${MAX_INVOCATION_TTL_SECONDS} s`,
      {
        link: 'invocation',
      },
    );
  }
}

function checkRequest(proofs: readonly DelegationClaims[], inv: InvocationClaims): void {
  proofs.forEach((p, i) => {
    if (!commandCovers(p.cmd, inv.cmd)) {
      refuse(
        'E_DELEGATION_COMMAND',
        'command-covered',
        `${describe(i)} does not cover ${inv.cmd} (it grants ${p.cmd})`,
        {
          link: i,
          command: inv.cmd,
        },
      );
    }
  });
  proofs.forEach((p, i) => {
    const failing = failingStatement(p.pol, { args: inv.args });
    if (failing !== undefined) {
      refuse(
        'E_DELEGATION_POLICY',
        'policy-holds',
        `the arguments fail a policy statement of ${describe(i)}`,
        {
          link: i,
          predicate: failing,
        },
      );
    }
  });
}

/**
 * Checks an invocation and its proof chain; throws the first refusal (a StrataError whose
 * `data.rule` names the rule). `trace` receives each link as soon as it is decoded, so a caller can
 * show the chain even when it is refused.
 */
export async function checkInvocation(
  jws: unknown,
  ctx: ChainContext,
  trace: LinkView[] = [],
): Promise<VerifiedInvocation> {
  const inv = await openInvocation(jws);
  const invView = view('invocation', jws as string, inv);
  const proofs: DelegationClaims[] = [];
  for (const [i, proof] of inv.prf.entries()) {
    const claims = await openDelegation(proof, i);
    proofs.push(claims);
    trace.push(view(i, proof, claims));
  }
  trace.push(invView);
  checkAlignment(proofs, inv);
  checkAttenuation(proofs);
  checkTime(proofs, inv, ctx.now);
  const revoked = await ctx.revoked(trace.map((l) => l.cid));
  if (revoked !== undefined) {
    const link = trace.find((l) => l.cid === revoked)?.link;
    refuse('E_DELEGATION_REVOKED', 'not-revoked', `${describe(link ?? 'invocation')} was revoked`, {
      link,
      cid: revoked,
    });
  }
  checkRequest(proofs, inv);
  if (ctx.trustedSubject !== undefined && !(await ctx.trustedSubject(inv.sub))) {
    refuse('E_DELEGATION_CHAIN', 'subject-trusted', 'the subject is not an identity this verifier serves', {
      link: 0,
    });
  }
  if (await ctx.nonceUsed(inv.iss, inv.nonce)) {
    refuse('E_DELEGATION_REPLAY', 'nonce-unused', 'this invocation was already used', { link: 'invocation' });
  }
  return {
    cid: invView.cid,
    invoker: inv.iss,
    sub: inv.sub,
    cmd: inv.cmd,
    args: inv.args,
    nonce: inv.nonce,
    exp: inv.exp,
    chain: [...trace],
  };
}
