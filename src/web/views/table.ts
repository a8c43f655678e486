/**
 * @module web/views/table
 * The dashboard's plain data table (headings with `scope="col"`, numeric columns right-aligned) and
 * timestamps given as ISO text, so the views added since the first ones do not each spell them out.
 */
import { html } from 'hono/html';
import type { Html } from '../layout.ts';

/** A column heading; `{ num }` right-aligns a numeric column. */
export type Column = string | { readonly num: string };

/** A table with `<th scope="col">` headings over the given rows, and a caption naming it if given. */
export function dataTable(columns: readonly Column[], rows: readonly Html[], caption?: string): Html {
  return html`<table>
    ${
      caption === undefined
        ? ''
        : html`<caption>
            ${caption}
          </caption>`
    }
    <thead>
      <tr>
        ${columns.map((col) =>
          typeof col === 'string'
            ? html`<th scope="col">${col}</th>`
            : html`<th scope="col" class="num">${col.num}</th>`,
        )}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

/** An ISO timestamp (as the layers' syscalls return them) in a <time> element; null: never. */
export const isoTime = (iso: string | null): Html =>
  iso === null ? html`never` : html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)}</time>`;
