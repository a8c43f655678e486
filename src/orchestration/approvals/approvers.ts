/**
 * Who may decide an approval. Each entry of `approvers` is one of:
 * - a principal id (`key_…` an API key, `agt_…` an agent): that principal;
 * - `agent:<name>`: the agent principal of that name in the tenant;
 * - `role:<x>`: any principal holding a grant on syscall `approvals.decide` for resource
 *   `roles/<x>` — roles are grants, so no new concept: give an on-call key that grant (outside
 *   `approvals/…`, so a grant to decide approvals is not membership of every role; a `*` resource
 *   grant, an admin's, covers every role);
 * - `mail:<address>`: an email reply from that address, with DMARC passing (mail-replies.ts).
 * An empty list means anyone the kernel already lets call `approvals.decide` on the approval.
 * Mail decisions act as principal `mail:<address>`, an id no API key or agent can have.
 */
import { findGrant, type Principal } from '../../kernel/index.ts';

/** The agent name of an agent principal, when the check needs it (looked up lazily). */
export type AgentNameOf = (principal: Principal) => Promise<string | undefined>;

export const mailApprovers = (approvers: readonly string[]): string[] =>
  approvers.filter((a) => a.startsWith('mail:')).map((a) => a.slice('mail:'.length).toLowerCase());

export async function isApprover(
  approvers: readonly string[],
  principal: Principal,
  agentNameOf: AgentNameOf,
): Promise<boolean> {
  if (approvers.length === 0) return true;
  for (const entry of approvers) {
    if (entry.startsWith('role:')) {
      const call = { syscall: 'approvals.decide', resource: `roles/${entry.slice(5)}`, input: {} };
      if (findGrant(principal.grants, { ...call, costMicros: 0 })) return true;
    } else if (entry.startsWith('agent:')) {
      if (principal.kind === 'agent' && (await agentNameOf(principal)) === entry.slice(6)) return true;
    } else if (entry.startsWith('mail:')) {
      if (principal.id.toLowerCase() === entry.toLowerCase()) return true;
    } else if (principal.id === entry) return true;
  }
  return false;
}
