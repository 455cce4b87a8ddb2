import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Spawned gateways and SQLite files: keep workers few on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
