import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'src/api/schema.ts', 'e2e/screenshots'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Components never open sockets: the live module (src/live/) is the only place.
      'no-restricted-globals': ['error', { name: 'WebSocket', message: 'use src/live (one live connection)' }],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='WebSocket']", message: 'use src/live (one live connection)' }],
    },
  },
  {
    files: ['src/live/connection.ts', 'src/**/*.test.{ts,tsx}'],
    rules: { 'no-restricted-globals': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    files: ['e2e/**/*.{js,mjs}', '*.config.{js,ts}'],
    extends: [js.configs.recommended],
    // e2e tests run in node and pass functions to the browser.
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
