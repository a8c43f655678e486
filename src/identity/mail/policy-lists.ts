/**
 * Allow and block lists of a mailbox. An entry is one address (`alice@example.com`) or a whole
 * domain (`@example.com`, that domain exactly, not its subdomains); it applies to inbound senders,
 * outbound recipients or both. A block entry always wins; when a mailbox has allow entries for a
 * direction, only addresses on them pass in that direction.
 */
import { StrataError, type Queryable } from '../../kernel/index.ts';
import { domainOf, validateAddress } from './address.ts';

export type ListKind = 'allow' | 'block';
export type ListDirection = 'inbound' | 'outbound' | 'both';

export interface ListEntry {
  readonly mailboxId: string;
  readonly entry: string;
  readonly kind: ListKind;
  readonly direction: ListDirection;
  readonly createdAt: number;
}

/** Why an address was refused: a block entry matched it, or an allow list exists without it. */
export interface ListRefusal {
  readonly rule: 'block' | 'not-allowed';
  readonly entry: string | null;
}

/** `alice@x.test` or `@x.test`, lower-cased; E_MAIL_ADDRESS_INVALID otherwise. */
export function normalizeEntry(value: string): string {
  if (value.startsWith('@')) return `@${domainOf(validateAddress(`x${value}`, 'entry'))}`;
  return validateAddress(value, 'entry');
}

type EntryRow = {
  mailbox_id: string;
  entry: string;
  kind: ListKind;
  direction: ListDirection;
  created_at: number;
};

const entryOf = (r: EntryRow): ListEntry => ({
  mailboxId: r.mailbox_id,
  entry: r.entry,
  kind: r.kind,
  direction: r.direction,
  createdAt: r.created_at,
});

export async function addEntry(
  q: Queryable,
  input: {
    tenant: string;
    mailboxId: string;
    entry: string;
    kind: ListKind;
    direction: ListDirection;
    now: number;
  },
): Promise<ListEntry> {
  const entry = normalizeEntry(input.entry);
  await q.run(
    `INSERT INTO mail_policy_lists (tenant, mailbox_id, entry, kind, direction, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (mailbox_id, entry, kind, direction) DO NOTHING`,
    [input.tenant, input.mailboxId, entry, input.kind, input.direction, input.now],
  );
  const row = await q.get<EntryRow>(
    'SELECT * FROM mail_policy_lists WHERE mailbox_id = ? AND entry = ? AND kind = ? AND direction = ?',
    [input.mailboxId, entry, input.kind, input.direction],
  );
  if (!row) throw new StrataError('E_STORE', 'the list entry vanished after it was written');
  return entryOf(row);
}

/** Removes one entry; false when there was none. */
export async function removeEntry(
  q: Queryable,
  input: { mailboxId: string; entry: string; kind: ListKind; direction: ListDirection },
): Promise<boolean> {
  const result = await q.run(
    'DELETE FROM mail_policy_lists WHERE mailbox_id = ? AND entry = ? AND kind = ? AND direction = ?',
    [input.mailboxId, normalizeEntry(input.entry), input.kind, input.direction],
  );
  return result.changes > 0;
}

export async function listEntries(q: Queryable, mailboxId: string): Promise<ListEntry[]> {
  const rows = await q.all<EntryRow>(
    'SELECT * FROM mail_policy_lists WHERE mailbox_id = ? ORDER BY kind, direction, entry',
    [mailboxId],
  );
  return rows.map(entryOf);
}

const matches = (entry: string, address: string): boolean =>
  entry.startsWith('@') ? domainOf(address) === entry.slice(1) : entry === address;

/**
 * The first of `addresses` the mailbox's lists refuse in a direction, with the reason; `undefined`
 * when all pass. Every address must pass on its own (an inbound sender is its From address and its
 * envelope sender, so a spoofed header cannot slip past an allow list the envelope would not pass).
 */
export async function screenAddresses(
  q: Queryable,
  mailboxId: string,
  direction: 'inbound' | 'outbound',
  addresses: readonly string[],
): Promise<(ListRefusal & { address: string }) | undefined> {
  const rows = await q.all<{ entry: string; kind: ListKind }>(
    'SELECT entry, kind FROM mail_policy_lists WHERE mailbox_id = ? AND direction IN (?, ?)',
    [mailboxId, direction, 'both'],
  );
  const blocks = rows.filter((r) => r.kind === 'block').map((r) => r.entry);
  const allows = rows.filter((r) => r.kind === 'allow').map((r) => r.entry);
  for (const raw of addresses) {
    const address = raw.toLowerCase();
    const blocked = blocks.find((e) => matches(e, address));
    if (blocked !== undefined) return { address, rule: 'block', entry: blocked };
    if (allows.length > 0 && !allows.some((e) => matches(e, address))) {
      return { address, rule: 'not-allowed', entry: null };
    }
  }
  return undefined;
}
