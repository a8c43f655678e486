// `npm run bench -- <name> [args]`: runs bench/<name>.ts. Each benchmark prints a readable table
// and, as its last line, one JSON object with its figures.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !['run.ts'].includes(f) && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}\n`);
  process.exit(2);
}
process.argv = [process.argv[0] as string, `${dir}${name}.ts`, ...rest];
await import(pathToFileURL(`${dir}${name}.ts`).href);
