// Progress on stderr: timestamped lines at each tenth off a terminal, a bar redrawn in place on one,
// nothing with --json or for short work.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import { createOutput } from './output.ts';
import { startProgress } from './progress.ts';

function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, {
    isTTY,
    columns: 80,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return { stream, text: () => text };
}

it('prints a timestamped line at every tenth when stderr is not a terminal', () => {
  const { stream, text } = sink(false);
  const bar = startProgress(createOutput(false), 'verifying', 2000, { stream });
  for (let i = 0; i < 1500; i++) bar.tick();
  bar.stop();
  const lines = text().trim().split('\n');
  assert.equal(lines.length, 8, text()); // 10 % … 70 %, then where it stopped
  assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z verifying: 200\/2000 \(10%\)$/);
  assert.match(lines.at(-1) ?? '', /verifying: 1500\/2000 \(75%\)$/);
});

it('draws a bar in place on a terminal', () => {
  const { stream, text } = sink(true);
  const bar = startProgress(createOutput(false), 'exporting', 1000, { stream });
  bar.tick(500);
  bar.stop();
  assert.match(text(), /exporting \[[^\]]+\] \d+% \d+\/1000/);
  assert.doesNotMatch(text(), /\d{4}-\d\d-\d\dT/);
});

it('stays silent with --json and for short work', () => {
  for (const [json, total] of [
    [true, 5000],
    [false, 999],
  ] as const) {
    const { stream, text } = sink(false);
    const bar = startProgress(createOutput(json), 'x', total, { stream });
    bar.tick(total);
    bar.stop();
    assert.equal(text(), '');
  }
});
