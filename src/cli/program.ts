/**
 * @module cli/program
 * Builds the `strata` command tree and runs it, turning every outcome into an exit code: 0 on
 * success, 2 for usage errors (commander's, and E_BAD_REQUEST-class codes), otherwise the code the
 * kernel's EXIT table gives the error's code. Subcommands are created with `.command()` so they
 * inherit `exitOverride` and the help settings; each group lives in `commands/<group>.ts`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT } from '../kernel/errors.ts';
import { registerAgents } from './commands/agents.ts';
import { registerApprovals } from './commands/approvals.ts';
import { registerAudit } from './commands/audit.ts';
import { registerBilling } from './commands/billing.ts';
import { registerBrowser } from './commands/browser.ts';
import { registerChaos } from './commands/chaos.ts';
import { registerCost } from './commands/cost.ts';
import { registerEvents } from './commands/events.ts';
import { registerFleet } from './commands/fleet.ts';
import { registerProblems } from './commands/problems.ts';
import { registerKeys } from './commands/keys.ts';
import { registerMail } from './commands/mail.ts';
import { registerMemory } from './commands/memory.ts';
import { registerModels } from './commands/models.ts';
import { registerMq } from './commands/mq.ts';
import { registerMcp } from './commands/mcp.ts';
import { registerResources } from './commands/resources.ts';
import { registerRuns } from './commands/runs.ts';
import { registerRunsWatch } from './commands/runs-watch.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerSyscalls } from './commands/syscalls.ts';
import { registerTenants } from './commands/tenants.ts';
import { registerTokens } from './commands/tokens.ts';
import { registerTools } from './commands/tools.ts';
import { registerUp } from './commands/up.ts';
import { reportError } from './output.ts';

function version(): string {
  // Same relative path from src/cli/ and dist/cli/.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function buildProgram(): Command {
  const program = new Command('strata')
    .description('Strata: an operating system for AI agents')
    .version(version(), '-V, --version')
    .option('--config <file>', 'JSON config file (default: ./strata.config.json if present)')
    .option('--data-dir <dir>', 'data directory (env STRATA_DATA_DIR; default .strata)')
    .option('--database <url>', 'sqlite:<path> or postgres://… (env STRATA_DATABASE_URL)')
    .option('--json', 'print one JSON document on stdout instead of text')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true })
    .showSuggestionAfterError();
  registerUp(program);
  registerTenants(program);
  registerKeys(program);
  registerTokens(program);
  registerAudit(program);
  registerSyscalls(program);
  registerRuns(program);
  registerRunsWatch(program); // strata runs watch
  registerBrowser(program);
  registerMail(program);
  registerMemory(program);
  registerModels(program);
  registerSandbox(program);
  registerResources(program);
  registerAgents(program);
  registerBilling(program);
  registerCost(program); // cost per task
  registerTools(program);
  registerMcp(program);
  registerFleet(program);
  registerProblems(program); // the needs-you list
  registerApprovals(program); // and escalations
  registerMq(program); // merge queue
  registerEvents(program);
  registerChaos(program); // fault injection
  return program;
}

/** Commander already printed its message to stderr; with --json, stdout still gets one document. */
function usageExit(error: CommanderError, json: boolean): number {
  if (error.exitCode === 0) return EXIT.ok; // --help, --version
  if (json) {
    const message = error.message.replace(/^error: /, '');
    process.stdout.write(`${JSON.stringify({ error: { code: 'E_BAD_REQUEST', message } })}\n`);
  }
  return EXIT.usage;
}

/** Runs the CLI with `argv` (the arguments after the script name); resolves with the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    // A command that passes an exit status through (`sandbox exec`) sets process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    const json = program.opts<{ json?: boolean }>().json === true || argv.includes('--json');
    if (error instanceof CommanderError) return usageExit(error, json);
    return reportError(error, json);
  }
}
