// ESLint flat config: typed rules that catch real bugs (floating promises, unchecked switches),
// and the layering of DESIGN.md (the kernel knows no layer; layers know no surface).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const LAYERS = ['compute', 'identity', 'memory', 'tools', 'provisioning', 'orchestration', 'models'];
const SURFACES = ['server', 'cli', 'web', 'sdk'];
const banImports = (names, why) => ({
  'no-restricted-imports': [
    'error',
    {
      // Relative imports only: a package's own folders (`@modelcontextprotocol/sdk/server/…`) are
      // not Strata's surfaces or layers.
      patterns: names.map((n) => ({ regex: `^\\.{1,2}/(.*/)?${n}(/|$)`, message: why })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tools/**', '.strata/**', 'test-artifacts/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // node:test's test/it/describe return promises the runner tracks itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-params': ['error', 4],
    },
  },
  { files: ['src/**/*.ts'], ignores: ['src/cli/**'], rules: { 'no-console': 'error' } },
  {
    files: ['src/kernel/**/*.ts'],
    rules: banImports([...LAYERS, ...SURFACES], 'The kernel knows no layer or surface.'),
  },
  ...LAYERS.filter((l) => l !== 'orchestration').map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: banImports(
      [...LAYERS.filter((l) => l !== layer), ...SURFACES],
      'Layers meet only through syscalls; they never import another layer or a surface.',
    ),
  })),
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
