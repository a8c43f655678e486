/**
 * @module web/views/layer-identity
 * The identity layer's page: the SMTP relay's and outbox's health (`fleet.drivers`), the tenant's
 * mailboxes (`mail.mailboxes.list`) and its mail events
 * (`mail.events.list`: received, sent, failed; headers only, never a body), oldest first from the
 * `after` cursor in the URL, since that is the order the syscall pages in.
 */
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { notice, type Html } from '../layout.ts';
import { callAs, type DashboardContext } from '../render.ts';
import { driverHealthSection, section, type LayerPage } from './layer-common.ts';
import { dataTable, isoTime } from './table.ts';

const EVENTS_PAGE = 50;

interface MailboxRow {
  id: string;
  agent: string;
  address: string;
  displayName: string | null;
  createdAt: string;
}
interface MailEventRow {
  seq: number;
  type: string;
  mailboxId: string;
  createdAt: string;
  message: { subject?: unknown; from?: { address?: unknown }; to?: unknown; error?: unknown };
}

function mailboxes(rows: readonly MailboxRow[]): Html {
  if (rows.length === 0) return notice('info', 'No mailboxes.');
  return dataTable(
    ['Address', 'Agent', 'Display name', 'Created'],
    rows.map(
      (m) =>
        html`<tr>
          <td><code>${m.address}</code></td>
          <td>${m.agent}</td>
          <td>${m.displayName ?? ''}</td>
          <td>${isoTime(m.createdAt)}</td>
        </tr>`,
    ),
  );
}

function events(rows: readonly MailEventRow[], addressOf: Map<string, string>, after: number): Html {
  if (rows.length === 0) return notice('info', after > 0 ? 'No later mail events.' : 'No mail events yet.');
  const last = rows.at(-1)?.seq ?? after;
  return html`${dataTable(
      [{ num: '#' }, 'Event', 'Mailbox', 'Subject', 'From', 'When'],
      rows.map(
        (e) =>
          html`<tr>
            <td class="num">${e.seq}</td>
            <td class="${e.type === 'message.failed' ? 'status-failed' : ''}">
              ${e.type}${typeof e.message.error === 'string' ? html`: ${e.message.error}` : ''}
            </td>
            <td><code>${addressOf.get(e.mailboxId) ?? e.mailboxId}</code></td>
            <td>${typeof e.message.subject === 'string' ? e.message.subject : ''}</td>
            <td>${typeof e.message.from?.address === 'string' ? e.message.from.address : ''}</td>
            <td>${isoTime(e.createdAt)}</td>
          </tr>`,
      ),
    )}
    <nav class="pager" aria-label="Mail event pages">
      ${after > 0 ? html`<a href="/ui/layers/identity">First events</a>` : ''}
      ${rows.length === EVENTS_PAGE ? html`<a href="/ui/layers/identity?after=${last}" rel="next">Later events</a>` : ''}
    </nav>`;
}

export const identityLayer: LayerPage = {
  slug: 'identity',
  title: 'Identity',
  shows: 'mailboxes and mail events',
  body: async (c: DashboardContext, kernel: Kernel) => {
    const after = Number(/^\d+$/.exec(c.req.query('after') ?? '')?.[0] ?? 0);
    let boxes: MailboxRow[] = [];
    return html`${await driverHealthSection(c, kernel, 'identity')}
    ${await section('Mailboxes', async () => {
      boxes = (await callAs<{ mailboxes: MailboxRow[] }>(c, kernel, 'mail.mailboxes.list', {})).mailboxes;
      return mailboxes(boxes);
    })}
    ${await section('Mail events', async () => {
      const list = await callAs<{ events: MailEventRow[] }>(c, kernel, 'mail.events.list', {
        after,
        limit: EVENTS_PAGE,
      });
      return events(list.events, new Map(boxes.map((b) => [b.id, b.address])), after);
    })}`;
  },
};
