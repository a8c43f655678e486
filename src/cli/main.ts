/**
 * @module cli/main
 * The `strata` command-line entry point (`npm run strata -- <args>`, or `bin/strata.mjs`).
 *
 * @example
 * strata up                                   # start the server; prints the admin key once
 * strata tenants create acme
 * strata keys create --tenant acme --grant 'kernel.*'
 * STRATA_API_KEY=sk_… strata syscalls call kernel.echo --input '{"message":"hi"}'
 * strata audit verify --json
 *
 * Sets `process.exitCode` rather than calling `process.exit()`, so buffered stdout is always
 * flushed; every command closes what it opened, so the process then ends on its own.
 */
import { run } from './program.ts';

// `strata audit export | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await run(process.argv.slice(2));
