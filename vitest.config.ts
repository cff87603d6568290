import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (*.test.ts); contract and integration tests (*.int.test.ts)
// talk to real services that test/global-setup.ts starts through infra/local.
export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', 'dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
