// ESLint over the web client (library, console, end-to-end suite, configs), the bindings' tests
// and the consumer test (its runner and the apps it installs the packages into): typescript-eslint's recommended rules (syntax only, no type information: `tsc` already
// checks the types), the React hooks rules, and nothing that Prettier decides.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    'target/',
    'server/',
    'bench/',
    'tests/*',
    '!tests/consumer/',
    'docs/',
    'web-client/e2e/artifacts/',
    // Written by `tidings export-bindings` and checked for drift against its output.
    'bindings/index.js',
    'bindings/index.d.ts',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // As `tsc`'s noUnusedParameters: a parameter named `_…` is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: [
      'web-client/src/**/*.{ts,tsx}',
      'web-client/console/**/*.{ts,tsx}',
      'tests/consumer/apps/*/src/**/*.{ts,tsx}',
    ],
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['web-client/src/**', 'web-client/console/**', 'tests/consumer/apps/*/src/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: [
      'web-client/e2e/**',
      'web-client/*.config.ts',
      'web-client/console/*.config.ts',
      'bindings/test/**',
      'tests/consumer/*.mjs',
      'tests/consumer/apps/*/node/**',
      '*.js',
    ],
    languageOptions: { globals: globals.node },
  },
  {
    // The end-to-end suite passes functions to the browser (`page.waitForFunction`), which run
    // there.
    files: ['web-client/e2e/**'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  prettier,
);
