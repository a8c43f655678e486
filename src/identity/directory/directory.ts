/**
 * @module identity/directory
 * The local agent directory: the A2A agents a tenant knows, each added from its card (verified to
 * the requested trust level before it is listed), searchable by skill (id, name or tag) and by
 * words, and annotated with how calls to it went: `a2a.call` records every success and failure,
 * so a search ranks agents that answered recently first and shows the ones that stopped answering.
 */
import { AgentCard } from '@a2a-js/sdk';
import { newId, StrataError, systemClock, type Clock, type Store } from '../../kernel/index.ts';
import { cardUrlOf } from '../a2a/client.ts';
import { assertPublicHost } from '../net-guard.ts';
import { verifyCard } from '../a2a/verify-card.ts';
import { DIRECTORY_LAYER, directoryMigrations } from './migrations.ts';

export type DirectoryTrust = 'none' | 'signed' | 'possession';

export interface DirectorySkill {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
}

export interface DirectoryEntry {
  readonly id: string;
  readonly cardUrl: string;
  readonly agentUrl: string;
  readonly name: string;
  readonly description: string;
  readonly skills: readonly DirectorySkill[];
  /** The card key verified when the entry was added or refreshed; null for trust `none`. */
  readonly kid: string | null;
  readonly possession: boolean;
  readonly addedAt: number;
  readonly refreshedAt: number;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  readonly lastError: string | null;
  readonly calls: number;
  readonly failures: number;
}

type EntryRow = {
  id: string;
  tenant: string;
  card_url: string;
  agent_url: string;
  name: string;
  description: string;
  skills: string;
  search_text: string;
  kid: string | null;
  possession: number;
  added_at: number;
  refreshed_at: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_error: string | null;
  calls: number;
  failures: number;
};

const entryOf = (r: EntryRow): DirectoryEntry => ({
  id: r.id,
  cardUrl: r.card_url,
  agentUrl: r.agent_url,
  name: r.name,
  description: r.description,
  skills: JSON.parse(r.skills) as DirectorySkill[],
  kid: r.kid,
  possession: r.possession === 1,
  addedAt: Number(r.added_at),
  refreshedAt: Number(r.refreshed_at),
  lastSuccessAt: r.last_success_at === null ? null : Number(r.last_success_at),
  lastFailureAt: r.last_failure_at === null ? null : Number(r.last_failure_at),
  lastError: r.last_error,
  calls: Number(r.calls),
  failures: Number(r.failures),
});

const searchTextOf = (card: AgentCard): string =>
  [card.name, card.description, ...card.skills.flatMap((s) => [s.id, s.name, s.description, ...s.tags])]
    .join('\n')
    .toLowerCase();

const hasSkill = (entry: DirectoryEntry, skill: string): boolean => {
  const wanted = skill.toLowerCase();
  return entry.skills.some(
    (s) =>
      s.id.toLowerCase() === wanted ||
      s.name.toLowerCase() === wanted ||
      s.tags.some((t) => t.toLowerCase() === wanted),
  );
};

export interface DirectoryOptions {
  readonly store: Store;
  readonly clock?: Clock;
  /** Tests only: agents on loopback/private addresses. @default false */
  readonly allowPrivate?: boolean;
}

export class AgentDirectory {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #allowPrivate: boolean;

  private constructor(options: DirectoryOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#allowPrivate = options.allowPrivate ?? false;
  }

  static async open(options: DirectoryOptions): Promise<AgentDirectory> {
    await options.store.migrate(DIRECTORY_LAYER, directoryMigrations);
    return new AgentDirectory(options);
  }

  /** Fetches the card (base or card URL), verifies it to `trust`, and adds or refreshes the entry. */
  async add(tenant: string, url: string, trust: DirectoryTrust = 'signed'): Promise<DirectoryEntry> {
    const cardUrl = (await assertPublicHost(cardUrlOf(url), { allowPrivate: this.#allowPrivate })).href;
    const verified =
      trust === 'none'
        ? { card: await fetchCard(cardUrl), kid: null, possession: false }
        : await verifyCard(cardUrl, { requirePossession: trust === 'possession' });
    const { card } = verified;
    const agentUrl =
      card.supportedInterfaces.find((i) => i.protocolBinding === 'JSONRPC')?.url ??
      card.supportedInterfaces[0]?.url ??
      '';
    await assertPublicHost(agentUrl, { allowPrivate: this.#allowPrivate });
    const skills: DirectorySkill[] = card.skills.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      tags: [...s.tags],
    }));
    const now = this.#clock.now();
    const values = [
      agentUrl,
      card.name,
      card.description,
      JSON.stringify(skills),
      searchTextOf(card),
      verified.kid,
      verified.possession ? 1 : 0,
      now,
    ];
    // Refreshing keeps the entry's id and its call history.
    await this.#store.run(
      `INSERT INTO directory_entries (id, tenant, card_url, agent_url, name, description, skills, search_text, kid,
         possession, refreshed_at, added_at, calls, failures)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)
       ON CONFLICT (tenant, card_url) DO UPDATE SET agent_url = excluded.agent_url, name = excluded.name,
         description = excluded.description, skills = excluded.skills, search_text = excluded.search_text,
         kid = excluded.kid, possession = excluded.possession, refreshed_at = excluded.refreshed_at`,
      [newId('dir', now), tenant, cardUrl, ...values, now],
    );
    return this.get(tenant, cardUrl);
  }

  /** An entry by id or card URL; E_NOT_FOUND otherwise. */
  async get(tenant: string, idOrUrl: string): Promise<DirectoryEntry> {
    const row = await this.#store.get<EntryRow>(
      'SELECT * FROM directory_entries WHERE tenant = ? AND (id = ? OR card_url = ?)',
      [tenant, idOrUrl, idOrUrl.startsWith('http') ? cardUrlOf(idOrUrl) : idOrUrl],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no directory entry ${idOrUrl}`, { entry: idOrUrl });
    return entryOf(row);
  }

  /** Entries with a skill (id, name or tag) and/or words, those that answered most recently first. */
  async search(
    tenant: string,
    query: { skill?: string; text?: string; limit?: number } = {},
  ): Promise<DirectoryEntry[]> {
    const words = (query.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const rows = await this.#store.all<EntryRow>(
      `SELECT * FROM directory_entries WHERE tenant = ?
       ORDER BY CASE WHEN last_success_at IS NULL THEN 1 ELSE 0 END, last_success_at DESC, name, id`,
      [tenant],
    );
    return rows
      .filter((r) => words.every((w) => r.search_text.includes(w)))
      .map(entryOf)
      .filter((e) => query.skill === undefined || hasSkill(e, query.skill))
      .slice(0, query.limit ?? 50);
  }

  async remove(tenant: string, idOrUrl: string): Promise<void> {
    const entry = await this.get(tenant, idOrUrl);
    await this.#store.run('DELETE FROM directory_entries WHERE tenant = ? AND id = ?', [tenant, entry.id]);
  }

  /** Records how a call to an agent went, when that agent is in the directory (else nothing). */
  async recordCall(
    tenant: string,
    url: string,
    outcome: { ok: true } | { ok: false; error: string },
  ): Promise<void> {
    const now = this.#clock.now();
    const cardUrl = cardUrlOf(url);
    if (outcome.ok) {
      await this.#store.run(
        'UPDATE directory_entries SET last_success_at = ?, calls = calls + 1 WHERE tenant = ? AND (card_url = ? OR agent_url = ?)',
        [now, tenant, cardUrl, url],
      );
    } else {
      await this.#store.run(
        `UPDATE directory_entries SET last_failure_at = ?, last_error = ?, calls = calls + 1, failures = failures + 1
         WHERE tenant = ? AND (card_url = ? OR agent_url = ?)`,
        [now, outcome.error.slice(0, 500), tenant, cardUrl, url],
      );
    }
  }
}

/** An unsigned card (trust `none`): fetched without redirects, parsed by the SDK. */
async function fetchCard(cardUrl: string): Promise<AgentCard> {
  const res = await fetch(cardUrl, {
    headers: { accept: 'application/json', 'A2A-Version': '1.0' },
    redirect: 'error',
  }).catch((error: unknown) => {
    throw new StrataError(
      'E_A2A_CARD_INVALID',
      `agent card at ${cardUrl}: unreachable`,
      { url: cardUrl },
      { cause: error },
    );
  });
  if (!res.ok)
    throw new StrataError('E_A2A_CARD_INVALID', `agent card at ${cardUrl}: HTTP ${res.status}`, {
      url: cardUrl,
    });
  const card = AgentCard.fromJSON(await res.json().catch(() => ({})));
  if (!card.name || card.supportedInterfaces.length === 0) {
    throw new StrataError('E_A2A_CARD_INVALID', `agent card at ${cardUrl}: not an A2A 1.0 card`, {
      url: cardUrl,
    });
  }
  return card;
}
