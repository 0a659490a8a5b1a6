import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Three projects: unit tests once, and every integration test twice, against the embedded
 * tiers and against the real services this machine runs (Postgres, Redis, Kafka; ClickHouse
 * is chDB in both, the vector tier is the embedded index in both: no Qdrant server exists here).
 */
export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS build (graphql 16 has no `exports` map), and so
    // does graphql-jit's require(); Vite would pick the ESM build and make two realms. Use
    // the CommonJS build everywhere, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Generous: a loaded 2-core machine runs Postgres, Redis, a Kafka broker and chDB beside the tests.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Each file runs in its own process: chDB allows one data directory per process.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['{lib,resolvers,stores,domain,sync-worker,migrations,gateway}/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'embedded', include: ['test/integration/**/*.test.ts'], env: { TIER_PROFILE: 'embedded' } },
      },
      // test/real-only: behaviour that needs a server several processes share (a killed worker).
      {
        extends: true,
        test: {
          name: 'real',
          include: ['test/integration/**/*.test.ts', 'test/real-only/**/*.test.ts'],
          env: { TIER_PROFILE: 'real' },
        },
      },
      // test/browser: the GraphiQL page in headless Chromium (Debian's package, driven by playwright-core).
      {
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], env: { TIER_PROFILE: 'embedded' } },
      },
    ],
  },
});
