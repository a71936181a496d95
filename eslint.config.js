// ESLint over the web client (library, console, end-to-end suite, configs) and the bindings'
// tests: typescript-eslint's recommended rules (syntax only, no type information: `tsc` already
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
    'tests/',
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
    files: ['web-client/src/**/*.{ts,tsx}', 'web-client/console/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['web-client/src/**', 'web-client/console/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['web-client/e2e/**', 'web-client/*.config.ts', 'bindings/test/**', '*.js'],
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
