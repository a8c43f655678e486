/**
 * @module identity/onchain/registration
 * The ERC-8004 registration file (what an agent's `tokenURI` points at), its builder for Strata
 * agents, and the agent URI rules.
 *
 * Format (ERC-8004 registration-v1): `type` (the fixed URL below), `name`, `description`, `image`,
 * `services` (`{ name, endpoint, version? }`: A2A → the agent card URL, MCP → the server card URL,
 * DID → the did:key, email, web…), `active`, `x402Support`, `supportedTrust`, and `registrations`
 * (`{ agentId, agentRegistry: "eip155:<chainId>:<registry>" }`), the back-reference that ties the
 * file to one onchain id. Early drafts named `services` `endpoints`; both parse, `services` is written.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';

export const REGISTRATION_TYPE = 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1';
/** A2A 1.0 (the card Strata serves); written as the A2A service's version. */
export const A2A_VERSION = '1.0';
/** https and ipfs URIs stay short; a data: URI carries the whole file onchain, so it may be longer. */
export const MAX_URI_LENGTH = 2048;
export const MAX_DATA_URI_LENGTH = 65_536;
const DATA_URI_PREFIX = 'data:application/json;base64,';
// did:key multibase is base58btc ('z' then the Bitcoin alphabet: no 0, O, I or l).
const DID_KEY = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,100}$/;

export interface RegistrationService {
  name: string;
  endpoint: string;
  version?: string;
}

/** Links the file to one id in one registry; agentId is a decimal string when above 2^53. */
export interface RegistrationRef {
  agentId: number | string;
  agentRegistry: string;
}

export interface RegistrationFile {
  type: typeof REGISTRATION_TYPE;
  name: string;
  description: string;
  image?: string;
  services: RegistrationService[];
  active?: boolean;
  x402Support?: boolean;
  registrations?: RegistrationRef[];
  supportedTrust?: string[];
}

/** What Strata knows about an agent, turned into a registration file by {@link buildRegistrationFile}. */
export interface StrataRegistrationInput {
  name: string;
  description: string;
  /** The agent's did:key; always listed as the DID service. */
  didKey: string;
  /** The agent's A2A card, e.g. `https://node.example/agents/a1/.well-known/agent-card.json`. */
  a2aCardUrl?: string;
  /** Strata's MCP server card (`<mcp-url>/server-card`). */
  mcpServerCardUrl?: string;
  mcpVersion?: string;
  emails?: string[];
  web?: string;
  image?: string;
  active?: boolean;
  supportedTrust?: string[];
  registrations?: { agentId: bigint; agentRegistry: string }[];
}

const service = z.object({
  name: z.string().min(1),
  endpoint: z.string().min(1),
  version: z.string().optional(),
});
const fileSchema = z
  .object({
    type: z.literal(REGISTRATION_TYPE),
    name: z.string().min(1).max(200),
    description: z.string().max(10_000).default(''),
    image: z.string().optional(),
    services: z.array(service).optional(),
    endpoints: z.array(service).optional(),
    active: z.boolean().optional(),
    x402Support: z.boolean().optional(),
    registrations: z
      .array(
        z.object({
          agentId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]),
          agentRegistry: z.string(),
        }),
      )
      .optional(),
    supportedTrust: z.array(z.string()).optional(),
  })
  .refine((f) => f.services !== undefined || f.endpoints !== undefined, { message: 'services is required' });

/** `eip155:<chainId>:<registry address>`, the spec's name for one registry on one chain. */
export function agentRegistryId(chainId: number, registry: string): string {
  return `eip155:${chainId}:${registry}`;
}

/** Builds the registration file for a Strata agent; refuses a malformed did:key or card URL. */
export function buildRegistrationFile(input: StrataRegistrationInput): RegistrationFile {
  if (!DID_KEY.test(input.didKey)) {
    throw new StrataError('E_ONCHAIN_REGISTRATION_INVALID', 'didKey is not a did:key (did:key:z…)', {
      issues: [{ path: ['didKey'], message: 'not a did:key' }],
    });
  }
  const services: RegistrationService[] = [];
  if (input.a2aCardUrl !== undefined) {
    services.push({ name: 'A2A', endpoint: httpsUrl(input.a2aCardUrl, 'a2aCardUrl'), version: A2A_VERSION });
  }
  if (input.mcpServerCardUrl !== undefined) {
    const mcp: RegistrationService = {
      name: 'MCP',
      endpoint: httpsUrl(input.mcpServerCardUrl, 'mcpServerCardUrl'),
    };
    if (input.mcpVersion !== undefined) mcp.version = input.mcpVersion;
    services.push(mcp);
  }
  services.push({ name: 'DID', endpoint: input.didKey, version: 'v1' });
  for (const email of input.emails ?? []) services.push({ name: 'email', endpoint: email });
  if (input.web !== undefined) services.push({ name: 'web', endpoint: httpsUrl(input.web, 'web') });
  const file: RegistrationFile = {
    type: REGISTRATION_TYPE,
    name: input.name,
    description: input.description,
    services,
    active: input.active ?? true,
  };
  if (input.image !== undefined) file.image = input.image;
  if (input.registrations !== undefined) {
    file.registrations = input.registrations.map((r) => ({
      agentId: r.agentId <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r.agentId) : r.agentId.toString(),
      agentRegistry: r.agentRegistry,
    }));
  }
  if (input.supportedTrust !== undefined) file.supportedTrust = input.supportedTrust;
  return parseRegistrationFile(file);
}

/** Validates parsed JSON as a registration file; the legacy `endpoints` key is read as `services`. */
export function parseRegistrationFile(json: unknown): RegistrationFile {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new StrataError('E_ONCHAIN_REGISTRATION_INVALID', 'not an ERC-8004 registration-v1 file', {
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
    });
  }
  const { endpoints, services, ...rest } = parsed.data;
  const file: RegistrationFile = { ...rest, services: services ?? endpoints ?? [] };
  if (file.image === undefined) delete file.image;
  return file;
}

/** The file as a `data:application/json;base64,` URI, so the whole file lives onchain. */
export function registrationToDataUri(file: RegistrationFile): string {
  return `${DATA_URI_PREFIX}${Buffer.from(JSON.stringify(file), 'utf8').toString('base64')}`;
}

/**
 * Checks an agent URI before it is written onchain: https (with a host), ipfs, or a JSON data: URI
 * that decodes; no whitespace or control characters; bounded length.
 */
export function assertAgentUri(uri: string): void {
  const refuse = (reason: string): never => {
    throw new StrataError('E_ONCHAIN_URI_INVALID', `invalid agent URI: ${reason}`, { reason });
  };
  if (uri.length === 0) refuse('empty');
  if (/[\s\p{Cc}]/u.test(uri)) refuse('whitespace or control character');
  if (uri.startsWith('data:')) {
    if (uri.length > MAX_DATA_URI_LENGTH) refuse(`longer than ${MAX_DATA_URI_LENGTH} characters`);
    decodeDataUri(uri);
    return;
  }
  if (uri.length > MAX_URI_LENGTH) refuse(`longer than ${MAX_URI_LENGTH} characters`);
  const url = URL.parse(uri);
  if (url === null) return refuse('not a URL');
  if (url.protocol === 'https:') {
    if (url.hostname === '') refuse('no host');
    if (url.username !== '' || url.password !== '') refuse('credentials in the URL');
    return;
  }
  // A CID is at least 46 characters (CIDv0); anything much shorter cannot name content.
  if (url.protocol === 'ipfs:') {
    if (uri.length < 'ipfs://'.length + 46) refuse('no CID');
    return;
  }
  refuse(`scheme ${url.protocol} is not https:, ipfs: or data:`);
}

/** Decodes a `data:application/json[;base64],` URI to its JSON value. */
export function decodeDataUri(uri: string): unknown {
  const comma = uri.indexOf(',');
  const header = comma < 0 ? '' : uri.slice(0, comma);
  const body = uri.slice(comma + 1);
  if (header !== 'data:application/json;base64' && header !== 'data:application/json') {
    throw new StrataError('E_ONCHAIN_URI_INVALID', 'a data: URI must be application/json', {
      reason: 'media type',
    });
  }
  const base64 = header.endsWith(';base64');
  if (base64 && !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new StrataError('E_ONCHAIN_URI_INVALID', 'the data: URI is not valid base64', { reason: 'base64' });
  }
  try {
    const text = base64 ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError(
      'E_ONCHAIN_URI_INVALID',
      'the data: URI does not hold JSON',
      { reason: 'json' },
      { cause },
    );
  }
}

function httpsUrl(value: string, field: string): string {
  const url = URL.parse(value);
  if (url?.protocol !== 'https:' && !(url?.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new StrataError('E_ONCHAIN_REGISTRATION_INVALID', `${field} must be an https URL`, {
      issues: [{ path: [field], message: 'not an https URL' }],
    });
  }
  return value;
}

// A local node (tests, `strata up` on a laptop) serves its cards over plain http on loopback.
function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
