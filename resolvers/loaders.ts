/** All request-scoped loaders, built once per request by the gateway's context factory. */
import type { Tiers } from '../stores/tiers.ts';
import { createClickhouseLoaders } from './clickhouse/loaders.ts';
import { createPostgresLoaders } from './postgres/loaders.ts';
import { createRedisLoaders } from './redis/loaders.ts';
import { createVectorLoaders } from './vector/loaders.ts';

export function createLoaders(options: { tiers: Tiers; batching: boolean }) {
  const { tiers, batching: batch } = options;
  return {
    ...createPostgresLoaders({ postgres: tiers.postgres, batch }),
    ...createClickhouseLoaders({ clickhouse: tiers.clickhouse, batch }),
    ...createRedisLoaders({ hot: tiers.hot, clickhouse: tiers.clickhouse, batch }),
    ...createVectorLoaders({ vector: tiers.vector, batch }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
