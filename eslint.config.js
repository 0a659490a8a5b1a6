// ESLint: typed rules that catch what review misses (floating promises, promises passed where
// a callback's result is ignored), no import cycles, no console outside the entry points and
// benchmarks, and the folder map of the README as import boundaries: dependencies flow one
// way (lib <- stores <- domain <- changelog/jobs <- resolvers <- gateway; the sync worker
// never imports the gateway or the resolvers).
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import boundaries from 'eslint-plugin-boundaries';

/** Each top-level folder, and the folders it may import from (besides itself). */
const LAYERS = {
  lib: [],
  stores: ['lib'],
  domain: ['lib', 'stores'],
  migrations: ['lib', 'stores'],
  jobs: ['lib', 'stores'],
  changelog: ['lib', 'stores', 'domain', 'migrations'],
  schema: ['lib', 'domain', 'resolvers', 'jobs'],
  resolvers: ['lib', 'stores', 'domain', 'changelog', 'jobs', 'schema'],
  gateway: ['lib', 'stores', 'domain', 'changelog', 'jobs', 'schema', 'resolvers'],
  'sync-worker': ['lib', 'stores', 'domain', 'changelog', 'jobs', 'migrations'],
  demo: ['lib', 'stores', 'domain', 'changelog'],
};
// The composition root imports every layer; benchmarks and tests import that too.
LAYERS.bin = Object.keys(LAYERS);
LAYERS.bench = [...LAYERS.bin, 'bin'];
LAYERS.test = [...LAYERS.bin, 'bin'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'schema/generated/',
      '.data/',
      'test-output/',
      'bench/results/',
      'eslint.config.js',
      'bin/yieldsensei.mjs',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX, boundaries },
    settings: {
      // Every import is a relative path with its .ts extension (Node's type stripping): Node's own resolution.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] })],
      'boundaries/include': ['**/*.ts'],
      'boundaries/elements': Object.keys(LAYERS).map((type) => ({ type, pattern: `${type}/**` })),
      'boundaries/files': [{ category: 'test', pattern: '**/*.test.ts' }],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-console': 'error',
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: Object.entries(LAYERS).map(([from, allowed]) => ({
            from: { element: { type: from } },
            allow: { to: { element: { types: { anyOf: [from, ...allowed] } } } },
          })),
        },
      ],
    },
  },
  {
    // Unit and contract tests live beside the code and use the test harness (real services).
    files: ['**/*.test.ts'],
    rules: { 'boundaries/dependencies': 'off', 'no-console': 'off' },
  },
  {
    files: ['bin/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
