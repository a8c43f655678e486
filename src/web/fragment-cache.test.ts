// The shared render of live fragments: reused only when made after the page's last event, never when
// it carries a per-session value, and one render for requests that arrive while it is being made.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FragmentCache } from './fragment-cache.ts';

const made =
  (head: number, html: string, shareable = true) =>
  async () => {
    await new Promise((r) => setTimeout(r, 5));
    return { head, html, shareable };
  };

it('reuses a render made after the page’s last event, and renders again for a newer one', async () => {
  const cache = new FragmentCache();
  assert.equal(await cache.get('k', 10, made(12, 'a')), 'a');
  assert.equal(await cache.get('k', 12, made(99, 'b')), 'a', 'a render at head 12 shows event 12');
  assert.equal(await cache.get('k', 13, made(13, 'c')), 'c', 'event 13 came after that render');
  assert.equal(await cache.get('other', 1, made(13, 'd')), 'd', 'another key (URL, grants) never shares');
  assert.deepEqual(cache.stats, { hits: 1, renders: 3 });
});

it('never shares a render that carries a per-session value', async () => {
  const cache = new FragmentCache();
  assert.equal(await cache.get('k', 1, made(5, 'mine', false)), 'mine');
  assert.equal(await cache.get('k', 1, made(5, 'theirs', false)), 'theirs');
});

it('makes one render for requests that arrive while it is being made', async () => {
  const cache = new FragmentCache();
  let renders = 0;
  const make = async () => {
    renders++;
    await new Promise((r) => setTimeout(r, 20));
    return { head: 7, html: 'x', shareable: true };
  };
  const first = cache.get('k', 7, make);
  await new Promise((r) => setTimeout(r, 1));
  const rest = await Promise.all(Array.from({ length: 9 }, () => cache.get('k', 6, make)));
  assert.equal(await first, 'x');
  assert.deepEqual(rest, Array(9).fill('x'));
  assert.equal(renders, 1);
});
