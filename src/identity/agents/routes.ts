/**
 * @module identity/agents/routes
 * Public, unauthenticated routes for one tenant's agent identities (they publish public keys only):
 *
 * - `GET /.well-known/jwks.json`: every agent key, retired ones with `status: "retired"`;
 * - `GET /agents/:agent/identity`: the signed identity document (`{ document, jws }`);
 * - `GET /agents/:agent/identity.jws`: the same JWS alone (`application/jose`);
 * - `GET /.well-known/did.json` and `GET /agents/:agent/did.json`: the did:web documents of the node
 *   and of each agent (see did-web.ts), named after the host the request reached.
 *
 * Mount it at the node's root for its public tenant, or under a prefix per tenant.
 */
import { Hono } from 'hono';
import { isStrataError, systemClock, type Clock } from '../../kernel/index.ts';
import type { AgentIdentities } from './agent-identities.ts';
import { agentDidDocument, nodeDidDocument } from './did-web.ts';
import { signedDocument } from './syscalls.ts';

const DID_JSON = { 'Content-Type': 'application/did+json', 'Cache-Control': 'public, max-age=300' };

export interface IdentityRoutesOptions {
  readonly identities: AgentIdentities;
  /** The tenant whose agents these routes publish. */
  readonly tenantId: string;
  readonly clock?: Clock;
}

export function agentIdentityRoutes(options: IdentityRoutesOptions): Hono {
  const { identities, tenantId } = options;
  const clock = options.clock ?? systemClock;
  const app = new Hono();
  app.get('/.well-known/jwks.json', async (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(await identities.jwks(tenantId));
  });
  const documentOf = (agent: string) => signedDocument(identities, { tenantId, agent, now: clock.now() });
  app.get('/agents/:agent/identity', async (c) => c.json(await documentOf(c.req.param('agent'))));
  app.get('/agents/:agent/identity.jws', async (c) => {
    const { jws } = await documentOf(c.req.param('agent'));
    return c.body(jws, 200, { 'Content-Type': 'application/jose' });
  });
  app.get('/.well-known/did.json', async (c) =>
    c.json(nodeDidDocument(await identities.list(tenantId), new URL(c.req.url).origin), 200, DID_JSON),
  );
  app.get('/agents/:agent/did.json', async (c) => {
    const identity = await identities.get(tenantId, c.req.param('agent'));
    return c.json(agentDidDocument(identity, new URL(c.req.url).origin), 200, DID_JSON);
  });
  app.onError((error, c) =>
    isStrataError(error) && error.code === 'E_NOT_FOUND'
      ? c.json({ error: { code: error.code, message: 'no such agent identity' } }, 404)
      : c.json({ error: { code: 'E_INTERNAL', message: 'internal error' } }, 500),
  );
  return app;
}
