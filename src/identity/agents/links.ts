/**
 * @module identity/agents/links
 * What an agent's identity document points at besides its key: mailbox addresses, its A2A agent
 * card, an MCP server card and an optional ERC-8004 registration. Validated strictly because the
 * document is signed with the agent's key: whatever it links to, the agent vouches for.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';

const httpsUrl = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .refine((u) => !/[\s<>"]/.test(u), 'no spaces or quotes');

/** One addr-spec, no display name, no CR/LF or group syntax. */
const mailbox = z
  .string()
  .max(254)
  .regex(/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, 'one plain address (a@b.c)');

/**
 * ERC-8004 agents are named by their registry (CAIP-10-style `eip155:<chainId>:<registry>`) and
 * their token id in it; here written as one string.
 */
const erc8004 = z
  .string()
  .regex(/^eip155:\d{1,20}:0x[0-9a-fA-F]{40}:\d{1,78}$/, 'eip155:<chainId>:<registry address>:<agentId>');

export const linksSchema = z
  .object({
    mailboxes: z.array(mailbox).max(20).optional(),
    a2aCardUrl: httpsUrl.optional(),
    mcpServerCardUrl: httpsUrl.optional(),
    erc8004: erc8004.optional(),
  })
  .strict();

export type AgentLinks = z.infer<typeof linksSchema>;

/** Parses links; E_INVALID_INPUT naming the bad paths. */
export function parseLinks(input: unknown): AgentLinks {
  const parsed = linksSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new StrataError('E_INVALID_INPUT', 'invalid identity links', {
    issues: parsed.error.issues.map((i) => ({ path: ['links', ...i.path].join('.'), message: i.message })),
  });
}
