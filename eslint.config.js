// ESLint flat config. Syntax-only typescript-eslint rules (no type information: `pnpm lint`
// stays fast; `pnpm typecheck` is the type gate). Configuration is read once through a
// zod-parsed env.ts, so process.env is forbidden everywhere else.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ENV_MESSAGE = 'read configuration through the zod-parsed env.ts';

export default defineConfig(
  globalIgnores([
    '**/node_modules/**',
    '**/__generated__/**',
    'bench/results/**',
    'schema/**',
    '.tools/**',
    'deploy/**',
    'test-results/**',
    '.lectern/**',
  ]),
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      'no-console': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: ENV_MESSAGE }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'process', importNames: ['env'], message: ENV_MESSAGE },
            { name: 'node:process', importNames: ['env'], message: ENV_MESSAGE },
          ],
        },
      ],
    },
  },
  {
    // Where reading the environment is the point.
    files: ['**/env.ts', 'scripts/**', '.ci/**', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': 'off',
      'no-restricted-imports': 'off',
    },
  },
  {
    // Command-line tools talk to a terminal.
    files: ['scripts/**', 'bench/**', '.ci/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
