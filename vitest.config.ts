import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{gateway,subgraphs,packages,e2e,scripts}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: each file gets its own database, so files may run side by side.
    maxWorkers: 2,
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
  },
});
