/**
 * @module identity/onchain/verify
 * Checks an onchain agent against what Strata expects of it: its registration file names this very
 * registry entry (the back-reference), lists the agent's did:key, and points its A2A and MCP services
 * at Strata's cards; optionally the owner and verified wallet. Pure: the driver reads, this judges.
 */
import { isAddressEqual, type Address } from 'viem';
import type { RegistrationFile } from './registration.ts';

/** One onchain agent as the registry reports it. */
export interface ResolvedAgent {
  agentId: bigint;
  owner: Address;
  uri: string;
  /** The verified payment wallet (the registrant's address until another wallet proves itself). */
  wallet: Address;
}

/** What the agent should look like. Only `didKey` is required; the rest is checked when given. */
export interface VerifyExpectations {
  didKey: string;
  a2aCardUrl?: string;
  mcpServerCardUrl?: string;
  owner?: Address;
  wallet?: Address;
}

export type VerifyCheckName =
  | 'registration'
  | 'backReference'
  | 'did'
  | 'a2a'
  | 'mcp'
  | 'owner'
  | 'wallet'
  /** The endpoint domain's /.well-known/agent-registration.json lists the agent (domain-proof.ts). */
  | 'domain';

export interface VerifyCheck {
  check: VerifyCheckName;
  ok: boolean;
  expected?: string;
  /** What was found instead (all endpoints of that service name, or the onchain value). */
  actual?: string[];
  reason?: string;
}

export interface VerifyReport {
  ok: boolean;
  agent: ResolvedAgent;
  registration?: RegistrationFile;
  checks: VerifyCheck[];
}

export interface JudgeInput {
  agent: ResolvedAgent;
  /** `eip155:<chainId>:<registry>` of the registry the agent was read from. */
  agentRegistry: string;
  expected: VerifyExpectations;
  /** The parsed file, or why it could not be read or parsed. */
  registration: RegistrationFile | { error: string };
}

/** Runs every check and reports each, so a caller sees all that is wrong at once. */
export function judgeAgent(input: JudgeInput): VerifyReport {
  const { agent, expected } = input;
  const checks: VerifyCheck[] = [];
  if ('error' in input.registration) {
    checks.push({ check: 'registration', ok: false, reason: input.registration.error });
    return finish(agent, undefined, [...checks, ...addressChecks(agent, expected)]);
  }
  const file = input.registration;
  checks.push({ check: 'registration', ok: true });
  const refs = (file.registrations ?? []).map((r) => `${r.agentRegistry}#${String(r.agentId)}`);
  const wantRef = `${input.agentRegistry}#${agent.agentId.toString()}`;
  // Registry ids compare case-insensitively: an address may be written checksummed or lowercase.
  const hasRef = refs.some((r) => r.toLowerCase() === wantRef.toLowerCase());
  checks.push({ check: 'backReference', ok: hasRef, expected: wantRef, actual: refs });
  checks.push(serviceCheck(file, { check: 'did', service: 'DID', expected: expected.didKey }));
  if (expected.a2aCardUrl !== undefined) {
    checks.push(serviceCheck(file, { check: 'a2a', service: 'A2A', expected: expected.a2aCardUrl }));
  }
  if (expected.mcpServerCardUrl !== undefined) {
    checks.push(serviceCheck(file, { check: 'mcp', service: 'MCP', expected: expected.mcpServerCardUrl }));
  }
  return finish(agent, file, [...checks, ...addressChecks(agent, expected)]);
}

function serviceCheck(
  file: RegistrationFile,
  want: { check: VerifyCheckName; service: string; expected: string },
): VerifyCheck {
  // Service names compare case-insensitively (files in the wild write "a2a" and "A2A"); endpoints exactly.
  const actual = file.services
    .filter((s) => s.name.toLowerCase() === want.service.toLowerCase())
    .map((s) => s.endpoint);
  return { check: want.check, ok: actual.includes(want.expected), expected: want.expected, actual };
}

function addressChecks(agent: ResolvedAgent, expected: VerifyExpectations): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  if (expected.owner !== undefined) {
    const ok = isAddressEqual(agent.owner, expected.owner);
    checks.push({ check: 'owner', ok, expected: expected.owner, actual: [agent.owner] });
  }
  if (expected.wallet !== undefined) {
    const ok = isAddressEqual(agent.wallet, expected.wallet);
    checks.push({ check: 'wallet', ok, expected: expected.wallet, actual: [agent.wallet] });
  }
  return checks;
}

function finish(
  agent: ResolvedAgent,
  registration: RegistrationFile | undefined,
  checks: VerifyCheck[],
): VerifyReport {
  const report: VerifyReport = { ok: checks.every((c) => c.ok), agent, checks };
  if (registration !== undefined) report.registration = registration;
  return report;
}
