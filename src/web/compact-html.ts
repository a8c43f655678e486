/**
 * @module web/compact-html
 * Collapses the template indentation out of a rendered view before a live stream pushes it. A
 * runs list of 50 rows is ~24 KB as rendered, a third of it the indentation of the templates, and
 * every line of it costs an SSE `data: ` prefix; ten open dashboards receive up to four renders a
 * second each, so the bytes written to their sockets were the largest part of what the pages cost
 * the server (bench/dashboard.ts, its CPU profiles).
 *
 * Why this is safe: each run of whitespace that holds a newline becomes one space, which HTML
 * renders as it rendered the run (between tags, in text, inside a tag), except where whitespace is
 * kept: `<pre>`, left as it is. The stylesheet sets no `white-space`, and the data in the HTML is
 * escaped, so it cannot open or close a `<pre>`.
 */
const PRE = /(<pre[\s>][\s\S]*?<\/pre>)/;

export function compactHtml(text: string): string {
  return text
    .split(PRE)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\s*\n\s*/g, ' ')))
    .join('');
}
