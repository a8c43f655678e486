/**
 * @module cli/commands/fleet
 * `strata fleet tree [runId]`: a supervision tree (supervisor, children, status, incarnation,
 * restarts) from a running server through the `fleet.tree` syscall; without a run id, every
 * running root supervisor of the caller's tenant. `--json` prints `{ trees: [...] }`.
 */
import type { Command } from 'commander';
import type { TreeNode } from '../../orchestration/index.ts';
import { configOf, outputOf } from '../context.ts';
import { remoteOf } from '../remote.ts';

/** One line per node, indented by depth: child id, run, workflow, status, incarnation, restarts. */
export function renderTree(node: TreeNode, depth = 0): string[] {
  const parts = [
    node.childId ?? '(root)',
    node.runId,
    node.workflow,
    node.status,
    ...(node.strategy ? [node.strategy] : []),
    ...(node.incarnation === undefined ? [] : [`incarnation ${node.incarnation}`]),
    ...(node.restarts ? [`restarts ${node.restarts}`] : []),
    ...(node.error ? [`${node.error.code}`] : []),
  ];
  const line = `${'  '.repeat(depth)}${depth > 0 ? '└ ' : ''}${parts.join('  ')}`;
  return [line, ...node.children.flatMap((c) => renderTree(c, depth + 1))];
}

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('supervision trees of agents on a running server')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  fleet
    .command('tree')
    .description('show a supervision tree: supervisor, children, status, incarnation, restarts')
    .argument('[runId]', 'a supervisor run (default: every running root supervisor)')
    .action(async (runId: string | undefined, _options: unknown, command: Command) => {
      const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
      const remote = remoteOf(opts, configOf(command));
      const result = await remote.call<{ trees: TreeNode[] }>(
        'fleet.tree',
        runId === undefined ? {} : { runId },
      );
      outputOf(command).result(result, () =>
        result.trees.length === 0
          ? 'no running supervisors'
          : result.trees.flatMap((t) => renderTree(t)).join('\n'),
      );
    });
}
