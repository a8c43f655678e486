// Compiles the ERC-8004 identity registry offline with the npm `solc` package (Hardhat would try to
// download a compiler) and writes src/identity/onchain/registry-artifact.json, which is committed so
// the runtime never needs a compiler. `node scripts/compile-registry.ts` rewrites it; a test
// recompiles and fails when the committed artifact no longer matches the source.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const SOURCE_PATH = fileURLToPath(new URL('../src/identity/onchain/identity-registry.sol', import.meta.url));
/** Where the committed artifact lives. */
export const ARTIFACT_PATH = fileURLToPath(
  new URL('../src/identity/onchain/registry-artifact.json', import.meta.url),
);
const SOURCE_NAME = 'identity-registry.sol';
const CONTRACT_NAME = 'IdentityRegistry';
// Pinned so the bytecode is reproducible; cancun runs on the in-process EVM and on every live L2.
const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' } as const;

/** The committed artifact's shape. */
export interface RegistryArtifact {
  contractName: string;
  compiler: string;
  settings: typeof SETTINGS;
  sourceSha256: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<
      string,
      { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >;
}

/** Compiles the registry source; throws with solc's messages when it does not compile. */
export function compileRegistry(source = readFileSync(SOURCE_PATH, 'utf8')): RegistryArtifact {
  const input = {
    language: 'Solidity',
    sources: { [SOURCE_NAME]: { content: source } },
    settings: {
      ...SETTINGS,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const compile = solc.compile as (json: string) => string;
  const output = JSON.parse(compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contract = output.contracts?.[SOURCE_NAME]?.[CONTRACT_NAME];
  if (!contract) throw new Error(`solc produced no ${CONTRACT_NAME}`);
  return {
    contractName: CONTRACT_NAME,
    compiler: (solc.version as () => string)(),
    settings: SETTINGS,
    sourceSha256: createHash('sha256').update(source).digest('hex'),
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
}

/** Serialises an artifact the way it is committed (stable, newline-terminated). */
export function formatArtifact(artifact: RegistryArtifact): string {
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

if (import.meta.main) {
  const artifact = compileRegistry();
  writeFileSync(ARTIFACT_PATH, formatArtifact(artifact));
  process.stdout.write(`wrote ${ARTIFACT_PATH} (${(artifact.bytecode.length - 2) / 2} bytes of init code)\n`);
}
