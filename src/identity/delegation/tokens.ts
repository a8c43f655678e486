/**
 * @module identity/delegation/tokens
 * UCAN-shaped JWS: delegations and invocations carry the UCAN 1.0 field names and rules (iss, aud,
 * sub, cmd, pol, nonce, exp, nbf; invocations add args and prf) but travel as compact JWS with a JSON
 * payload, **not** the UCAN 1.0 wire format (DAG-CBOR envelopes, varsig, CIDs). No UCAN library
 * reads them, and they read no UCAN 1.0 token.
 *
 * Only EdDSA over Ed25519 is accepted, with the key taken from the issuer's did:key: the header's
 * `alg` is checked before any key is touched, so `alg: none` and HS256-keyed-with-the-public-key both
 * fail up front (E_DELEGATION_ALG), and `jose` is also called with `algorithms: ['EdDSA']`.
 * A link's id is `sha256:<hex>` of its compact JWS, standing in for UCAN's CID.
 */
import { createHash } from 'node:crypto';
import { compactVerify } from 'jose';
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';
import { publicKeyFromDidKey } from '../agents/did-key.ts';
import { isCommand } from './command.ts';
import { parsePolicy, type Policy } from './policy.ts';

export const DELEGATION_TYPE = 'strata-dlg+jwt';
export const INVOCATION_TYPE = 'strata-inv+jwt';
export const MAX_LINK_CHARS = 16 * 1024;
export const MAX_INVOCATION_CHARS = 160 * 1024;
export const MAX_PROOFS = 8;

/** What signs a delegation or invocation: a did:key and its private half, wherever it lives. */
export interface DidSigner {
  readonly did: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

const did = z.string().startsWith('did:key:z').max(64);
const nonce = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 base64url chars');
const seconds = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 40);
const command = z.string().refine(isCommand, 'a lower-case path such as /crypto/sign');

export const delegationSchema = z
  .object({
    iss: did,
    aud: did,
    sub: did,
    cmd: command,
    pol: z.array(z.unknown()).max(64),
    nonce,
    exp: seconds,
    nbf: seconds.optional(),
    iat: seconds.optional(),
  })
  .strict();

export const invocationSchema = z
  .object({
    iss: did,
    sub: did,
    aud: did.optional(),
    cmd: command,
    args: z.record(z.string(), z.unknown()),
    nonce,
    exp: seconds,
    iat: seconds,
    prf: z.array(z.string().max(MAX_LINK_CHARS)).max(MAX_PROOFS),
  })
  .strict();

export type DelegationClaims = Omit<z.infer<typeof delegationSchema>, 'pol'> & { readonly pol: Policy };
export type InvocationClaims = z.infer<typeof invocationSchema>;

/** Which token a failure is about: `invocation`, or the index of a proof (0 = root). */
export type LinkRef = 'invocation' | number;

/** The link id of a compact JWS: `sha256:<hex>`. */
export const linkId = (jws: string): string => `sha256:${createHash('sha256').update(jws).digest('hex')}`;

const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

async function signCompact(signer: DidSigner, typ: string, claims: object): Promise<string> {
  const head = b64(JSON.stringify({ alg: 'EdDSA', typ }));
  const body = b64(JSON.stringify(claims));
  const signature = await signer.sign(Buffer.from(`${head}.${body}`, 'ascii'));
  return `${head}.${body}.${b64(signature)}`;
}

/** Refuses to sign what verification would refuse; E_INVALID_INPUT naming the bad fields. */
function checkClaims(schema: z.ZodType, claims: unknown): void {
  const parsed = schema.safeParse(claims);
  if (parsed.success) return;
  throw new StrataError('E_INVALID_INPUT', 'invalid delegation or invocation claims', {
    issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/** Signs a delegation from `signer` (its DID is `iss`). Validates the claims first. */
export async function signDelegation(
  signer: DidSigner,
  claims: Omit<DelegationClaims, 'iss'>,
): Promise<{ jws: string; cid: string }> {
  const full = { ...claims, iss: signer.did };
  checkClaims(delegationSchema, full);
  try {
    parsePolicy(full.pol);
  } catch (error) {
    throw new StrataError('E_INVALID_INPUT', (error as Error).message, {
      issues: [{ path: 'pol', message: 'invalid' }],
    });
  }
  const jws = await signCompact(signer, DELEGATION_TYPE, full);
  return { jws, cid: linkId(jws) };
}

/** Signs an invocation from `signer` (its DID is `iss`), carrying its proofs root first. */
export async function signInvocation(
  signer: DidSigner,
  claims: Omit<InvocationClaims, 'iss'>,
): Promise<string> {
  const full = { ...claims, iss: signer.did };
  checkClaims(invocationSchema, full);
  return signCompact(signer, INVOCATION_TYPE, full);
}

function malformed(link: LinkRef, reason: string): StrataError {
  return new StrataError('E_DELEGATION_MALFORMED', `${describe(link)} is malformed: ${reason}`, {
    link,
    reason,
  });
}

/** "the invocation" or "proof 2 (root = 0)". */
export const describe = (link: LinkRef): string =>
  link === 'invocation' ? 'the invocation' : `proof ${link}`;

function decodePart(part: string | undefined): unknown {
  if (part === undefined || !/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Decodes and verifies one compact JWS of type `typ`: size, header (`alg` EdDSA, `typ`, no `crit`,
 * no embedded key), claims shape, then the signature against the issuer's did:key.
 */
export async function openLink<T extends { iss: string }>(
  jws: unknown,
  options: { link: LinkRef; typ: string; schema: z.ZodType<T>; maxChars: number },
): Promise<T> {
  const { link } = options;
  if (typeof jws !== 'string' || jws.length > options.maxChars)
    throw malformed(link, 'not a JWS of allowed size');
  const parts = jws.split('.');
  const header = decodePart(parts[0]) as Record<string, unknown> | undefined;
  if (parts.length !== 3 || typeof header !== 'object' || header === null)
    throw malformed(link, 'not a compact JWS');
  if (header['alg'] !== 'EdDSA') {
    throw new StrataError('E_DELEGATION_ALG', `${describe(link)} must be signed with EdDSA (Ed25519)`, {
      link,
      alg: String(header['alg']).slice(0, 20),
    });
  }
  const extra = Object.keys(header).filter((k) => k !== 'alg' && k !== 'typ' && k !== 'kid');
  if (header['typ'] !== options.typ || extra.length > 0)
    throw malformed(link, `header must be {alg, typ: ${options.typ}}`);
  const parsed = options.schema.safeParse(decodePart(parts[1]));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw malformed(link, `${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid claims'}`.trim());
  }
  const key = publicKeyFromDidKey(parsed.data.iss);
  try {
    await compactVerify(jws, key, { algorithms: ['EdDSA'] });
  } catch (cause) {
    throw new StrataError(
      'E_DELEGATION_SIGNATURE',
      `${describe(link)} is not signed by its issuer ${parsed.data.iss}`,
      { link },
      { cause },
    );
  }
  return parsed.data;
}

/** Opens a delegation (and validates its policy). */
export async function openDelegation(jws: unknown, link: number): Promise<DelegationClaims> {
  const claims = await openLink(jws, {
    link,
    typ: DELEGATION_TYPE,
    schema: delegationSchema,
    maxChars: MAX_LINK_CHARS,
  });
  try {
    return { ...claims, pol: parsePolicy(claims.pol) };
  } catch (error) {
    throw malformed(link, (error as Error).message);
  }
}

/** Opens an invocation (its proofs are opened separately). */
export function openInvocation(jws: unknown): Promise<InvocationClaims> {
  return openLink(jws, {
    link: 'invocation',
    typ: INVOCATION_TYPE,
    schema: invocationSchema,
    maxChars: MAX_INVOCATION_CHARS,
  });
}
