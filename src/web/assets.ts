/**
 * @module web/assets
 * The dashboard's static files, served by the server itself (no CDN: the dashboard must work on an
 * air-gapped network): htmx from its npm package, and our own stylesheet and script from
 * `./assets/`. Read once, kept in memory, served with a long cache lifetime (the URLs carry a
 * version) and `nosniff`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { DashboardEnv } from './session.ts';

const require = createRequire(import.meta.url);

const FILES: Record<string, { path: () => string; type: string }> = {
  'htmx.min.js': {
    path: () => require.resolve('htmx.org/dist/htmx.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'app.js': {
    path: () => fileURLToPath(new URL('./assets/app.js', import.meta.url)),
    type: 'text/javascript; charset=utf-8',
  },
  'app.css': {
    path: () => fileURLToPath(new URL('./assets/app.css', import.meta.url)),
    type: 'text/css; charset=utf-8',
  },
};

const cache = new Map<string, Buffer>();
const urls = new Map<string, string>();

const contentOf = (name: string, path: string): Buffer => {
  let content = cache.get(name);
  if (content === undefined) {
    content = readFileSync(path);
    cache.set(name, content);
  }
  return content;
};

/** The asset's URL, versioned by a digest of its content, so a new release is never served stale. */
export function assetUrl(name: string): string {
  let url = urls.get(name);
  if (url === undefined) {
    const file = FILES[name];
    if (file === undefined) throw new Error(`no dashboard asset ${name}`);
    const digest = createHash('sha256').update(contentOf(name, file.path())).digest('base64url').slice(0, 10);
    url = `/ui/assets/${name}?v=${digest}`;
    urls.set(name, url);
  }
  return url;
}

export function assetRoutes(app: Hono<DashboardEnv>): void {
  app.get('/assets/:name', (c) => {
    const file = FILES[c.req.param('name')];
    if (file === undefined) return c.text('not found', 404);
    const body = contentOf(c.req.param('name'), file.path());
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': file.type,
      'Cache-Control': 'public, max-age=86400, immutable',
    });
  });
}
