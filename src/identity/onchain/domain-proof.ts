/**
 * @module identity/onchain/domain-proof
 * ERC-8004's optional endpoint-domain proof: a node that serves an agent's endpoints publishes
 * `https://<domain>/.well-known/agent-registration.json` whose `registrations` list that agent's
 * `{ agentId, agentRegistry }`. A file onchain can name any domain; only whoever controls the domain can
 * answer at its well-known path, so a match shows the domain agrees it serves that agent.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';
import type { RegistrationRef } from './registration.ts';
import type { VerifyCheck } from './verify.ts';

export const DOMAIN_PROOF_PATH = '/.well-known/agent-registration.json';

/** Where a domain's proof lives; refuses anything but a bare host name (no path, port tricks or userinfo). */
export function domainProofUrl(domain: string): string {
  const url = URL.parse(`https://${domain}${DOMAIN_PROOF_PATH}`);
  if (url === null || url.host !== domain.toLowerCase() || url.pathname !== DOMAIN_PROOF_PATH) {
    throw new StrataError('E_INVALID_INPUT', `not a bare domain name: ${domain}`, {
      issues: [{ path: ['domain'], message: 'not a domain' }],
    });
  }
  return url.href;
}

/**
 * Serves this node's proof; `registrations` is read per request so newly registered agents appear
 * without a restart. Mount at the root of the domain the agents' endpoints live on.
 */
export function agentRegistrationRoutes(options: {
  registrations: () => RegistrationRef[] | Promise<RegistrationRef[]>;
}): Hono {
  const app = new Hono();
  app.get(DOMAIN_PROOF_PATH, async (c) => {
    const registrations = await options.registrations();
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ registrations });
  });
  return app;
}

const proofSchema = z.object({
  registrations: z.array(z.object({ agentId: z.union([z.number(), z.string()]), agentRegistry: z.string() })),
});

/** Whether a fetched proof document lists this agent in this registry. */
export function judgeDomainProof(
  document: unknown,
  want: { domain: string; agentId: bigint; agentRegistry: string },
): VerifyCheck {
  const expected = `${want.agentRegistry}#${want.agentId.toString()}`;
  const parsed = proofSchema.safeParse(document);
  if (!parsed.success) {
    return { check: 'domain', ok: false, expected, reason: `${want.domain}: no registrations list` };
  }
  const actual = parsed.data.registrations.map((r) => `${r.agentRegistry}#${String(r.agentId)}`);
  const ok = actual.some((r) => r.toLowerCase() === expected.toLowerCase());
  return { check: 'domain', ok, expected, actual };
}
