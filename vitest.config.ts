import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql 16 has no "exports": Node loads its CommonJS build (index.js), and so do the
  // libraries vitest leaves to Node (graphql-ws, Apollo). Vite alone would pick its ESM build
  // (the "module" field) for our sources, and the two builds refuse each other's schemas and
  // errors ("from another module or realm"). Resolve it as Node does.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
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
