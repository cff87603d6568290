import { defineConfig } from 'vitest/config';

const exclude = ['node_modules/**', 'data/**', 'dist/**', '.livepulse/**'];

// Unit tests sit beside the code (*.test.ts) and need nothing running. Contract and
// integration tests (*.int.test.ts) talk to real services that test/global-setup.ts starts
// through infra/local (or reuses when already running).
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['**/*.test.ts'], exclude: [...exclude, '**/*.int.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['**/*.int.test.ts'], exclude, globalSetup: ['./test/global-setup.ts'] },
      },
    ],
  },
});
