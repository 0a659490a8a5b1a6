import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Four projects:
 * - unit: tests beside the code, including one contract suite per store interface run against
 *   both implementations (the server client and the embedded default);
 * - real: the integration tests, once, against the real services this machine runs (Postgres,
 *   Redis, Kafka; ClickHouse is chDB, the vector tier the embedded index: no servers exist here);
 * - embedded: the first run on embedded defaults, end to end;
 * - browser: the GraphiQL page in headless Chromium.
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
        test: {
          name: 'unit',
          include: ['{lib,resolvers,stores,domain,changelog,jobs,sync-worker,migrations,gateway}/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'embedded', include: ['test/embedded/**/*.test.ts'], env: { TIER_PROFILE: 'embedded' } },
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
