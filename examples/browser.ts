import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserSessions } from './src/compute/index.ts';
import { isStrataError, openStore } from './src/kernel/index.ts';

// A page to browse, on 127.0.0.1.
const site = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  if (req.method === 'POST') return res.end('<title>Thanks</title><h1>Thanks!</h1><p>Subscribed.</p>');
  res.end(`<title>News</title><h1>Newsletter</h1><ul><li><a href="/archive">Archive</a></li></ul>
    <form method="post"><input id="email" name="email" placeholder="Email"><button>Subscribe</button></form>`);
});
await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;

const dir = mkdtempSync(join(tmpdir(), 'strata-browser-example-'));
const store = await openStore(`sqlite:${join(dir, 'strata.db')}`);
const browsers = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles') });
const tenantId = 'ten_example';

const session = await browsers.openSession({ tenantId, principal: 'example', allowUrls: [origin] });
const ref = { tenantId, sessionId: session.id };
await browsers.goto({ ...ref, url: `${origin}/` });
console.log((await browsers.extract(ref)).text.split('\n')[0]);
await browsers.fill({ ...ref, selector: '#email', value: 'ada@example.com' });
await browsers.click({ ...ref, selector: 'button' });
console.log((await browsers.extract(ref)).text.split('\n')[0]);
try {
  await browsers.goto({ ...ref, url: 'https://example.com/' });
} catch (error) {
  if (isStrataError(error)) console.log(error.code);
}
const { actions } = await browsers.actions(ref);
console.log(actions.map((a) => `${a.seq} ${a.kind} ${a.ok ? 'ok' : a.error?.code}`).join('\n'));

await browsers.close(); // closes every session and Chromium
await store.close();
site.close();
