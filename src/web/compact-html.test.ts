// compactHtml: a run of whitespace holding a newline becomes one space (so the view renders as
// before), a <pre>'s content is kept byte for byte, and text without newlines is untouched.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { compactHtml } from './compact-html.ts';

it('collapses indentation to one space and keeps <pre> as it is', () => {
  const view = `<table>
      <tr>
        <td><a href="/ui/runs/run_1">run_1</a>
          <span>queued</span></td>
        <td><time datetime="2026-12-05T18:15:05Z"
    >18:15:05</time
  ></td>
      </tr>
    </table>
    <pre class="journal">{
  "a": 1,
    "b": [2]
}</pre>
    <p>a   b\tc</p>`;
  assert.equal(
    compactHtml(view),
    '<table> <tr> <td><a href="/ui/runs/run_1">run_1</a> <span>queued</span></td> ' +
      '<td><time datetime="2026-12-05T18:15:05Z" >18:15:05</time ></td> </tr> </table> ' +
      '<pre class="journal">{\n  "a": 1,\n    "b": [2]\n}</pre> <p>a   b\tc</p>',
  );
});

it('keeps every <pre> of a view, and a tag that only starts with "pre" is not one', () => {
  const view = '<pre>x\n  y</pre>\n  <prefix-el>\n a</prefix-el>\n<pre\n  id="p">1\n 2</pre>';
  assert.equal(compactHtml(view), '<pre>x\n  y</pre> <prefix-el> a</prefix-el> <pre\n  id="p">1\n 2</pre>');
  assert.equal(compactHtml('no newline  here'), 'no newline  here');
});
