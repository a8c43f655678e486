// `npm run bench -- identity [--mail 1000] [--iterations 3000] [--round-trips 500] [--only a,b]`:
// the identity layer against its peers, side by side in one process run (issue 10):
//   mail        inbound messages/s accepted, authenticated, threaded and stored
//               vs a bare smtp-server + mailparser sink              target Strata >= 0.50 of the sink
//   delegation  3-link chain verifications/s vs the same 4 JWS with jose      target overhead <= 3x
//   a2a         SendMessage round trip p50 vs the SDK's own sample server      target within 1.5x
// The parts run one after the other (mail, delegation, a2a); each figure is a ratio against a peer
// measured in the same part. Prints a table, then one JSON line with every figure, target and verdict.
import { parseArgs } from 'node:util';
import { benchA2a, type A2aFigures } from './_identity-a2a.ts';
import { benchDelegation, type DelegationFigures } from './_identity-delegation.ts';
import { benchMail, type MailFigures } from './_identity-mail.ts';
import { table } from './_util.ts';

const PARTS = ['mail', 'delegation', 'a2a'] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    mail: { type: 'string', default: '1000' },
    iterations: { type: 'string', default: '3000' },
    'round-trips': { type: 'string', default: '500' },
    only: { type: 'string', default: PARTS.join(',') },
  },
});
const only = new Set(values.only.split(',').map((p) => p.trim()));
const unknown = [...only].filter((p) => !PARTS.includes(p as Part));
if (unknown.length > 0) {
  process.stderr.write(`unknown part(s): ${unknown.join(', ')}; parts: ${PARTS.join(', ')}\n`);
  process.exit(2);
}
const count = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer\n`);
    process.exit(2);
  }
  return n;
};

const figures: { mail?: MailFigures; delegation?: DelegationFigures; a2a?: A2aFigures } = {};
if (only.has('mail')) figures.mail = await benchMail(count('mail', values.mail));
if (only.has('delegation'))
  figures.delegation = await benchDelegation(count('iterations', values.iterations));
if (only.has('a2a')) figures.a2a = await benchA2a(count('round-trips', values['round-trips']));

const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const rows: (string | number)[][] = [['part', 'measure', 'Strata', 'peer', 'ratio', 'target', '']];
const { mail, delegation, a2a } = figures;
if (mail) {
  rows.push([
    'mail',
    'msg/s, one SMTP connection each',
    mail.strataMsgsPerSec,
    mail.sinkMsgsPerSec,
    mail.ratio,
    mail.target,
    verdict(mail.met),
  ]);
}
if (delegation) {
  rows.push([
    'delegation',
    '3-link chain verifications/s',
    delegation.strataSqliteVerificationsPerSec,
    delegation.joseVerificationsPerSec,
    delegation.ratio,
    delegation.target,
    verdict(delegation.met),
  ]);
}
if (a2a) {
  rows.push([
    'a2a',
    'SendMessage round trip p50 ms',
    a2a.strata.p50Ms,
    a2a.sdk.p50Ms,
    a2a.ratio,
    a2a.target,
    verdict(a2a.met),
  ]);
}
process.stdout.write(`${table(rows)}\n\n`);
if (mail) {
  process.stdout.write(
    `mail: Strata = accept + SPF/DKIM/DMARC + thread + store (SQLite); peer = smtp-server + mailparser sink;\n` +
      `  ${mail.n} messages, ${mail.threads} threads (expected 10), last 200 authenticated: ${mail.authenticated}\n`,
  );
}
if (delegation) {
  process.stdout.write(
    `delegation: Strata = Delegations.verify on SQLite (${delegation.strataSqliteUs} µs; chain rules alone ` +
      `${delegation.strataPureUs} µs, ${delegation.ratioPure}×); peer = jose compactVerify ×4 ` +
      `(${delegation.joseUs} µs); ${delegation.iterations} verifications each\n`,
  );
}
if (a2a) {
  process.stdout.write(
    `a2a: Strata = /a2a/echo (Hono, tasks in SQLite) p95 ${a2a.strata.p95Ms} p99 ${a2a.strata.p99Ms} ms; ` +
      `peer = SDK parts on node:http, in-memory tasks p95 ${a2a.sdk.p95Ms} p99 ${a2a.sdk.p99Ms} ms; ` +
      `${a2a.n} round trips each\n`,
  );
}
process.stdout.write(`\n${JSON.stringify({ bench: 'identity', ...figures })}\n`);
