import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'oclif.manifest.json', '.vitest-results.json']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The bin is CommonJS (an ES module entry costs start-up time): Node's CommonJS globals.
    files: ['bin/*.cjs'],
    languageOptions: {globals: {require: 'readonly', __filename: 'readonly'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', Response: 'readonly',
        Request: 'readonly', Headers: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly', URLSearchParams: 'readonly',
        TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', setInterval: 'readonly',
        clearInterval: 'readonly', setImmediate: 'readonly', FormData: 'readonly', crypto: 'readonly',
        document: 'readonly', window: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
)
