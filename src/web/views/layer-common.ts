/**
 * @module web/views/layer-common
 * What the per-layer pages share: the shape of one layer's page, and a section that reads through
 * its own syscall, so one layer's missing grant or failing driver shows as a notice in its section
 * while the rest of the page still renders.
 */
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import type { Html } from '../layout.ts';
import { errorNotice, type DashboardContext } from '../render.ts';

export interface LayerPage {
  /** The URL segment: /ui/layers/<slug>. */
  readonly slug: string;
  readonly title: string;
  /** One line for the index: what the page shows. */
  readonly shows: string;
  body(c: DashboardContext, kernel: Kernel): Promise<Html>;
}

/** An h2 section whose content comes from `read`; a failed read becomes a notice. */
export async function section(title: string, read: () => Promise<Html>): Promise<Html> {
  let content: Html;
  try {
    content = await read();
  } catch (error) {
    content = errorNotice(error);
  }
  return html`<section aria-labelledby="${slugOf(title)}">
    <h2 id="${slugOf(title)}">${title}</h2>
    ${content}
  </section>`;
}

const slugOf = (title: string): string => `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
