/**
 * @module compute/open
 * The usual way to get a sandbox manager: bubblewrap as the default driver, state under the data
 * directory, and the process driver only when explicitly allowed.
 */
import { join, resolve } from 'node:path';
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import { BubblewrapDriver } from './drivers/bubblewrap/index.ts';
import { ProcessDriver } from './drivers/process/index.ts';
import { SandboxManager } from './sandbox/manager.ts';
import type { SandboxDriver } from './sandbox/types.ts';

export interface OpenSandboxesOptions {
  readonly dataDir: string;
  /** Also register the process driver (no isolation). @default false */
  readonly allowInsecure?: boolean;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly runRoot?: string;
}

export function openSandboxes(options: OpenSandboxesOptions): Promise<SandboxManager> {
  const drivers: SandboxDriver[] = [
    new BubblewrapDriver({
      stateDir: join(resolve(options.dataDir), 'compute', 'state'),
      logger: options.logger,
    }),
  ];
  if (options.allowInsecure) drivers.push(new ProcessDriver({ allowInsecure: true, logger: options.logger }));
  return SandboxManager.open({
    dataDir: options.dataDir,
    drivers,
    logger: options.logger,
    clock: options.clock,
    runRoot: options.runRoot,
  });
}
