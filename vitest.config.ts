import { defineConfig } from 'vitest/config';

/**
 * Three projects: unit tests once, and every integration test twice, against the embedded
 * tiers and against the real services this machine runs (Postgres, Redis, Kafka; ClickHouse
 * is chDB in both, the vector tier is the embedded index in both: no Qdrant server exists here).
 */
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file runs in its own process: chDB allows one data directory per process.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['{lib,resolvers,stores,domain,sync-worker,migrations}/**/*.test.ts'] } },
      { extends: true, test: { name: 'embedded', include: ['test/integration/**/*.test.ts'], env: { TIER_PROFILE: 'embedded' } } },
      { extends: true, test: { name: 'real', include: ['test/integration/**/*.test.ts'], env: { TIER_PROFILE: 'real' } } },
    ],
  },
});
