/**
 * Both built-in drivers run the shared sandbox conformance suite.
 */
import { join } from 'node:path';
import { describeSandboxConformance } from '../../testkit/sandbox-conformance.ts';
import { BubblewrapDriver } from '../drivers/bubblewrap/index.ts';
import { ProcessDriver } from '../drivers/process/index.ts';
import { SandboxManager } from './manager.ts';

describeSandboxConformance('bubblewrap', ({ dataDir }) =>
  SandboxManager.open({ dataDir, drivers: [new BubblewrapDriver({ stateDir: join(dataDir, 'state') })] }),
);

describeSandboxConformance('process', ({ dataDir }) =>
  SandboxManager.open({ dataDir, drivers: [new ProcessDriver({ allowInsecure: true })] }),
);
