/**
 * @module identity/agents/agent-identities
 * One Ed25519 key per agent, held sealed in the store (AES-256-GCM under the master key, bound to its
 * kid) and never returned: callers get the did:key, the public JWK and signatures. Rotation retires
 * the active key but keeps its public half, so signatures made before still verify (JWKS lists
 * retired keys with `status: "retired"`). A did:key *is* its key, so a rotation also changes the
 * agent's DID; the identity document lists the earlier ones.
 *
 * The signing key is derived from the unsealed private key, never trusted from the `did` or
 * `public_jwk` columns: someone who can write the database but lacks the master key cannot plant a
 * key of their own.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import {
  openSealed,
  seal,
  StrataError,
  systemClock,
  type Clock,
  type Queryable,
  type Store,
} from '../../kernel/index.ts';
import { didKeyOf } from './did-key.ts';
import { parseLinks, type AgentLinks } from './links.ts';
import { AGENTS_LAYER, agentMigrations } from './migrations.ts';

/** A key an agent has (had): public half only. */
export interface AgentKey {
  readonly kid: string;
  readonly did: string;
  readonly publicJwk: JWK;
  readonly createdAt: number;
  readonly retiredAt: number | null;
}

export interface AgentIdentity {
  readonly tenantId: string;
  readonly agentId: string;
  /** The did:key of the active key. */
  readonly did: string;
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly links: AgentLinks;
  /** Every key, oldest first; the last one is active. */
  readonly keys: readonly AgentKey[];
  readonly createdAt: number;
}

/**
 * Signs with an agent's active key without exposing it. Shaped like the A2A `CardSigner`
 * (`kid`, `publicJwk`, `sign(signingInput)`), plus the DID that names the key.
 */
export interface AgentSigner {
  readonly kid: string;
  readonly did: string;
  readonly publicJwk: JWK;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

interface KeyRow extends Record<string, unknown> {
  kid: string;
  tenant_id: string;
  agent_id: string;
  did: string;
  public_jwk: string;
  private_sealed: string;
  created_at: number;
  retired_at: number | null;
}

const aadFor = (kid: string): string => `identity_agent_keys:${kid}`;
const AGENT_REF = /^[A-Za-z0-9_.-]{1,100}$/;

function notFound(agent: string): StrataError {
  return new StrataError('E_NOT_FOUND', `agent "${agent.slice(0, 100)}" has no identity in this tenant`);
}

const toKey = (r: KeyRow): AgentKey => ({
  kid: r.kid,
  did: r.did,
  publicJwk: JSON.parse(r.public_jwk) as JWK,
  createdAt: Number(r.created_at),
  retiredAt: r.retired_at === null ? null : Number(r.retired_at),
});

export class AgentIdentities {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #masterKey: Buffer;
  /** Unsealed private keys by kid: unsealing costs an AES-GCM open and a key parse per signature. */
  readonly #privateKeys = new Map<string, KeyObject>();

  private constructor(options: { store: Store; clock: Clock; masterKey: Buffer }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#masterKey = options.masterKey;
  }

  /** Applies the `identity_agents` schema. */
  static async open(options: { store: Store; masterKey: Buffer; clock?: Clock }): Promise<AgentIdentities> {
    await options.store.migrate(AGENTS_LAYER, agentMigrations);
    return new AgentIdentities({ ...options, clock: options.clock ?? systemClock });
  }

  /**
   * Gives a kernel agent (by id or name) its first key. E_NOT_FOUND if the tenant has no such agent,
   * E_CONFLICT if it already has an identity.
   */
  async create(tenantId: string, agent: string, links?: AgentLinks): Promise<AgentIdentity> {
    const parsedLinks = parseLinks(links);
    const agentId = await this.#kernelAgent(tenantId, agent);
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO identity_agents (tenant_id, agent_id, links, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        [tenantId, agentId, JSON.stringify(parsedLinks), now, now],
      );
      await this.#insertKey(tx, { tenantId, agentId, now });
    });
    return this.get(tenantId, agentId);
  }

  /** One agent's identity (by agent id or name). */
  async get(tenantId: string, agent: string): Promise<AgentIdentity> {
    const agentId = await this.#identityAgent(tenantId, agent);
    const row = await this.#store.get<{ links: string; created_at: number }>(
      'SELECT links, created_at FROM identity_agents WHERE tenant_id = ? AND agent_id = ?',
      [tenantId, agentId],
    );
    const keys = await this.#store.all<KeyRow>(
      'SELECT * FROM identity_agent_keys WHERE tenant_id = ? AND agent_id = ? ORDER BY created_at, kid',
      [tenantId, agentId],
    );
    const active = keys.find((k) => k.retired_at === null);
    if (row === undefined || active === undefined) throw notFound(agent);
    return {
      tenantId,
      agentId,
      did: active.did,
      kid: active.kid,
      publicJwk: JSON.parse(active.public_jwk) as JWK,
      links: JSON.parse(row.links) as AgentLinks,
      keys: [...keys.filter((k) => k !== active), active].map(toKey),
      createdAt: Number(row.created_at),
    };
  }

  /** Every agent identity of the tenant, by agent id. */
  async list(tenantId: string): Promise<AgentIdentity[]> {
    const rows = await this.#store.all<{ agent_id: string }>(
      'SELECT agent_id FROM identity_agents WHERE tenant_id = ? ORDER BY agent_id',
      [tenantId],
    );
    return Promise.all(rows.map((r) => this.get(tenantId, r.agent_id)));
  }

  /** Replaces the links the identity document publishes. */
  async setLinks(tenantId: string, agent: string, links: AgentLinks): Promise<AgentIdentity> {
    const parsed = parseLinks(links);
    const agentId = await this.#identityAgent(tenantId, agent);
    await this.#store.run(
      'UPDATE identity_agents SET links = ?, updated_at = ? WHERE tenant_id = ? AND agent_id = ?',
      [JSON.stringify(parsed), this.#clock.now(), tenantId, agentId],
    );
    return this.get(tenantId, agentId);
  }

  /** A new active key; the old one is retired (kept for verification, never signs again). */
  async rotateKey(tenantId: string, agent: string): Promise<AgentIdentity> {
    const agentId = await this.#identityAgent(tenantId, agent);
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      const retired = await tx.run(
        'UPDATE identity_agent_keys SET retired_at = ? WHERE tenant_id = ? AND agent_id = ? AND retired_at IS NULL',
        [now, tenantId, agentId],
      );
      // A concurrent rotation retired it first: ours would race theirs for the one active slot.
      if (retired.changes !== 1) throw new StrataError('E_CONFLICT', 'the key is being rotated concurrently');
      await this.#insertKey(tx, { tenantId, agentId, now });
    });
    return this.get(tenantId, agentId);
  }

  /** Every public key of the tenant's agents, retired ones marked, for `/.well-known/jwks.json`. */
  async jwks(tenantId: string): Promise<{ keys: JWK[] }> {
    const rows = await this.#store.all<KeyRow>(
      'SELECT * FROM identity_agent_keys WHERE tenant_id = ? ORDER BY agent_id, created_at, kid',
      [tenantId],
    );
    return {
      keys: rows.map((r) => ({
        ...(JSON.parse(r.public_jwk) as JWK),
        status: r.retired_at === null ? 'active' : 'retired',
        ...(r.retired_at === null ? {} : { retired_at: new Date(Number(r.retired_at)).toISOString() }),
      })),
    };
  }

  /** A public key of the tenant's agents by kid (retired ones included), or undefined. */
  async publicKey(tenantId: string, kid: string): Promise<AgentKey | undefined> {
    const row = await this.#store.get<KeyRow>(
      'SELECT * FROM identity_agent_keys WHERE kid = ? AND tenant_id = ?',
      [kid, tenantId],
    );
    return row === undefined ? undefined : toKey(row);
  }

  /** Whether a did:key belongs to one of the tenant's agents (any key, retired included). */
  async ownsDid(tenantId: string, did: string): Promise<boolean> {
    const row = await this.#store.get('SELECT kid FROM identity_agent_keys WHERE did = ? AND tenant_id = ?', [
      did,
      tenantId,
    ]);
    return row !== undefined;
  }

  /** Signs `payload` with the agent's active key (Ed25519, 64-byte signature). For internal use. */
  async sign(
    tenantId: string,
    agent: string,
    payload: Uint8Array,
  ): Promise<{ kid: string; did: string; signature: Uint8Array }> {
    const signer = await this.signer(tenantId, agent);
    return { kid: signer.kid, did: signer.did, signature: await signer.sign(payload) };
  }

  /** A signer bound to the agent's key active now (a later rotation does not change it). */
  async signer(tenantId: string, agent: string): Promise<AgentSigner> {
    const agentId = await this.#identityAgent(tenantId, agent);
    const row = await this.#store.get<KeyRow>(
      'SELECT * FROM identity_agent_keys WHERE tenant_id = ? AND agent_id = ? AND retired_at IS NULL',
      [tenantId, agentId],
    );
    if (row === undefined) throw notFound(agent);
    const privateKey = this.#unseal(row);
    return {
      kid: row.kid,
      did: row.did,
      publicJwk: JSON.parse(row.public_jwk) as JWK,
      sign: (data) => Promise.resolve(new Uint8Array(edSign(null, data, privateKey))),
    };
  }

  async #insertKey(tx: Queryable, at: { tenantId: string; agentId: string; now: number }): Promise<void> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x }, 'sha256');
    const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: 'EdDSA', use: 'sig' };
    const privateJwk = Buffer.from(JSON.stringify(privateKey.export({ format: 'jwk' })), 'utf8');
    await tx.run(
      `INSERT INTO identity_agent_keys (kid, tenant_id, agent_id, did, public_jwk, private_sealed, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        kid,
        at.tenantId,
        at.agentId,
        didKeyOf(publicKey),
        JSON.stringify(publicJwk),
        seal(this.#masterKey, privateJwk, aadFor(kid)),
        at.now,
      ],
    );
  }

  #unseal(row: KeyRow): KeyObject {
    const cached = this.#privateKeys.get(row.kid);
    if (cached !== undefined) return cached;
    const jwk = JSON.parse(
      openSealed(this.#masterKey, row.private_sealed, aadFor(row.kid)).toString('utf8'),
    ) as {
      kty: string;
    };
    const key = createPrivateKey({ key: jwk, format: 'jwk' });
    if (didKeyOf(createPublicKey(key)) !== row.did) {
      throw new StrataError('E_INTERNAL', `agent key ${row.kid} does not match its recorded did:key`);
    }
    if (this.#privateKeys.size >= 1_000) this.#privateKeys.clear();
    this.#privateKeys.set(row.kid, key);
    return key;
  }

  /** The kernel agent's id, from its id or its name (names cannot contain `_`, ids always do). */
  async #kernelAgent(tenantId: string, agent: string): Promise<string> {
    if (!AGENT_REF.test(agent)) throw notFound(agent);
    // The kernel owns agents; this layer only reads their ids (no kernel API returns one agent).
    const row = await this.#store.get<{ id: string }>(
      'SELECT id FROM kernel_agents WHERE tenant_id = ? AND (id = ? OR name = ?)',
      [tenantId, agent, agent],
    );
    if (row === undefined) throw new StrataError('E_NOT_FOUND', `agent "${agent}" not found in this tenant`);
    return row.id;
  }

  async #identityAgent(tenantId: string, agent: string): Promise<string> {
    const agentId = await this.#kernelAgent(tenantId, agent).catch(() => undefined);
    if (agentId === undefined) throw notFound(agent);
    return agentId;
  }
}
