import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noEmulators = {
  group: ['**/emulators/**'],
  message: 'Only the CLI and server wiring start emulators.',
};
const noUpstreamClients = {
  group: ['**/upstreams/**/*.client.js'],
  message: 'Resolvers call loaders, never upstream clients.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'dist-bench/**',
      'coverage/**',
      'src/generated/**',
      'test/generated/**',
      'packages/client/src/generated/**',
      'packages/client/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    // Product code never imports an emulator: only the CLI and the server wiring start them.
    files: ['src/**/*.ts'],
    ignores: ['src/emulators/**', 'src/cli.ts', 'src/server/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noEmulators] }] },
  },
  {
    // Data flows one way: the schema layer reaches upstreams only through loaders.
    files: ['src/schema/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noEmulators, noUpstreamClients] }] },
  },
);
