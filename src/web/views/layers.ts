/**
 * @module web/views/layers
 * A page per layer under /ui/layers/<layer> (compute, identity, memory, tools, provisioning), and
 * their index at /ui/layers. Each page reads its layer's existing syscalls as the operator; which
 * layer shows what is in the layer-*.ts files.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Kernel } from '../../kernel/index.ts';
import { notice } from '../layout.ts';
import { render } from '../render.ts';
import type { DashboardEnv } from '../session.ts';
import type { LayerPage } from './layer-common.ts';
import { computeLayer } from './layer-compute.ts';
import { identityLayer } from './layer-identity.ts';
import { memoryLayer } from './layer-memory.ts';
import { provisioningLayer } from './layer-provisioning.ts';
import { toolsLayer } from './layer-tools.ts';

export const LAYER_PAGES: readonly LayerPage[] = [
  computeLayer,
  identityLayer,
  memoryLayer,
  toolsLayer,
  provisioningLayer,
];

export function layersView(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/layers', (c) =>
    render(c, kernel, {
      title: 'Layers',
      current: '/ui/layers',
      body: () =>
        Promise.resolve(
          html`<ul class="layers">
            ${LAYER_PAGES.map(
              (l) => html`<li><a href="/ui/layers/${l.slug}">${l.title}</a>: ${l.shows}</li>`,
            )}
          </ul>`,
        ),
    }),
  );
  app.get('/layers/:layer', (c) => {
    const layer = LAYER_PAGES.find((l) => l.slug === c.req.param('layer'));
    if (!layer)
      return render(c, kernel, {
        title: 'No such layer',
        current: '/ui/layers',
        status: 404,
        body: () =>
          Promise.resolve(
            notice(
              'error',
              html`<code>E_NOT_FOUND</code> there is no layer page ${c.req.param('layer')}: see
                <a href="/ui/layers">the layers</a>.`,
            ),
          ),
      });
    return render(c, kernel, {
      title: `${layer.title} layer`,
      current: '/ui/layers',
      body: () => layer.body(c, kernel),
    });
  });
}
