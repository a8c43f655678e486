/**
 * @module compute/browser/test-site
 * Test support: pages the browser tests drive, served on 127.0.0.1 by a real HTTP server. The same
 * server answers as `localhost`, a host the sessions do not allow, and notes every request that
 * reaches it that way, so a test can tell a refused navigation or subresource never left Chromium.
 * Routes: `/form` (and its `/submit`), `/links` (inside, outside and popup links, an outside image),
 * `/redirect-out`, `/redirect-in`, `/script-out`, `/cookie`, `/whoami`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Site {
  readonly server: Server;
  /** http://127.0.0.1:<port> — allowed. */
  readonly base: string;
  /** http://localhost:<port> — the same server under a host the sessions do not allow. */
  readonly outside: string;
  /** Requests that arrived with the disallowed host name. */
  readonly outsideHits: string[];
}

function page(body: string, title = 'Test'): string {
  return `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;
}

export async function serve(): Promise<Site> {
  const outsideHits: string[] = [];
  const server = createServer((req, res) => {
    const host = req.headers.host ?? '';
    const outside = `http://localhost:${(server.address() as AddressInfo).port}`;
    if (host.startsWith('localhost')) outsideHits.push(req.url ?? '');
    const html = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      switch (req.url ?? '') {
        case '/form':
          return html(
            200,
            page(
              `<h1>Search</h1><form method="post" action="/submit">
                 <label for="q">Query</label> <input id="q" name="q">
                 <label for="pw">Password</label> <input id="pw" name="pw" type="password">
                 <button id="go" type="submit">Go</button></form>`,
              'Form',
            ),
          );
        case '/submit': {
          const q = new URLSearchParams(body).get('q') ?? '';
          return html(
            200,
            page(`<h1>Results</h1><p id="out">You searched for: ${q.replaceAll('<', '')}</p>`, 'Results'),
          );
        }
        case '/links':
          return html(
            200,
            page(
              `<h1>Links</h1><h2>Inside</h2><ul><li><a id="to-form" href="/form">the form</a></li>
               <li><a id="out" href="${outside}/secret">outside link</a></li>
               <li><a id="blank" target="_blank" href="${outside}/popup">popup link</a></li></ul>
               <p>Some <b>bold</b> text.</p><button id="open" onclick="window.open('${outside}/win')">open</button>
               <img src="${outside}/pixel.png" alt="pixel"><div style="display:none">hidden words</div>`,
              'Links',
            ),
          );
        case '/redirect-out':
          res.writeHead(302, { location: `${outside}/landing` });
          return res.end();
        case '/redirect-in':
          res.writeHead(302, { location: '/form' });
          return res.end();
        case '/script-out':
          return html(
            200,
            page(`<p>moving</p><script>setTimeout(() => { location.href = '${outside}/js'; }, 10)</script>`),
          );
        case '/cookie':
          res.writeHead(200, {
            'content-type': 'text/html',
            'set-cookie': 'remember=yes; Max-Age=3600; Path=/',
          });
          return res.end(page('<p>cookie set</p>'));
        case '/whoami':
          return html(200, page(`<p id="c">cookie: ${req.headers.cookie ?? 'none'}</p>`));
        default:
          return html(404, page('<h1>Not found</h1>'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, base: `http://127.0.0.1:${port}`, outside: `http://localhost:${port}`, outsideHits };
}
