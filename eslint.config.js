import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importLayers } from './import-layers.js';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'data/**',
      'dist/**',
      '.livepulse/**',
      'dashboards/grafana/**',
      'ingest-api/sdk/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // In-memory implementations of async ports: `async` is what turns their throws (a closed log, a
    // refused argument) into the rejections the port promises; Promise.try around every body would
    // say the same with one more level of nesting.
    files: ['core/bus/embedded-bus.ts', 'core/live-state/memory-live-state.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  // Which folder may import which (import-layers.js).
  ...importLayers,
);
