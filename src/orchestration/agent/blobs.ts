/**
 * @module orchestration/agent/blobs
 * Content-addressed blobs for agent conversations: each message is stored once under the sha256 of
 * its bytes, and each prompt sent to a model is a small node `{ parent, added }` (the previous
 * prompt's hash and the hashes of the messages appended since), itself a blob. A journal entry then
 * names a whole prompt with one 64-character hash, so the journal grows with the number of calls,
 * not with the square of the conversation's length (Temporal's history stores every prompt inline:
 * temporalio/sdk-python#1890, killed at 50 MB after 53 of 100 calls).
 *
 * Blobs are scoped by tenant: the same text in two tenants is two rows, so knowing a hash never
 * lets one tenant read another's content.
 */
import { createHash } from 'node:crypto';
import type { Migration, Queryable } from '../../kernel/index.ts';
import { StrataError } from '../../kernel/index.ts';
import type { ModelMessage } from '../../models/index.ts';

/** The migration layer of the agent loop (separate from the orchestration layer's versions). */
export const AGENT_LAYER = 'orchestration_agent';

export const agentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'content-addressed blobs',
    up: {
      sqlite: `CREATE TABLE orch_agent_blobs (
        tenant_id TEXT NOT NULL, hash TEXT NOT NULL, size BIGINT NOT NULL, data BLOB NOT NULL,
        created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, hash));`,
      postgres: `CREATE TABLE orch_agent_blobs (
        tenant_id TEXT NOT NULL, hash TEXT NOT NULL, size BIGINT NOT NULL, data BYTEA NOT NULL,
        created_at BIGINT NOT NULL, PRIMARY KEY (tenant_id, hash));`,
    },
  },
];

/** A prompt as stored: the prompt it extends and the messages appended to it. */
export interface PromptNode {
  readonly parent: string | null;
  readonly added: readonly string[];
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Stores `value` (as JSON) once; returns its hash. Storing the same value again changes nothing. */
export async function putBlob(q: Queryable, tenantId: string, value: unknown, now: number): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  const hash = sha256(bytes);
  await q.run(
    `INSERT INTO orch_agent_blobs (tenant_id, hash, size, data, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, hash) DO NOTHING`,
    [tenantId, hash, bytes.length, bytes, now],
  );
  return hash;
}

/** The value stored under `hash`, checked against it. */
export async function getBlob<T>(q: Queryable, tenantId: string, hash: string): Promise<T> {
  const row = await q.get<{ data: Buffer }>(
    'SELECT data FROM orch_agent_blobs WHERE tenant_id = ? AND hash = ?',
    [tenantId, hash],
  );
  if (!row) throw new StrataError('E_NOT_FOUND', `no blob ${hash.slice(0, 12)}… in this tenant`, { hash });
  if (sha256(row.data) !== hash)
    throw new StrataError('E_STORE', `blob ${hash.slice(0, 12)}… does not match its hash`, { hash });
  return JSON.parse(row.data.toString('utf8')) as T;
}

/** Stores the messages appended since `parent` and the prompt node; returns the node's hash. */
export async function putPrompt(
  q: Queryable,
  tenantId: string,
  prompt: { parent: string | null; added: readonly ModelMessage[] },
  now: number,
): Promise<string> {
  const added: string[] = [];
  for (const message of prompt.added) added.push(await putBlob(q, tenantId, message, now));
  const node: PromptNode = { parent: prompt.parent, added };
  return putBlob(q, tenantId, node, now);
}

/** The whole conversation a prompt node stands for, oldest message first. */
export async function loadPrompt(q: Queryable, tenantId: string, hash: string): Promise<ModelMessage[]> {
  const chain: PromptNode[] = [];
  for (let at: string | null = hash; at !== null;) {
    const node: PromptNode = await getBlob<PromptNode>(q, tenantId, at);
    chain.push(node);
    at = node.parent;
  }
  const messages: ModelMessage[] = [];
  for (const node of chain.reverse())
    for (const h of node.added) messages.push(await getBlob<ModelMessage>(q, tenantId, h));
  return messages;
}
