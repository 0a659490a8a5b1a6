/** Latest price and 24 h change per asset: one Redis MGET per batch, ClickHouse for misses. */
import DataLoader from 'dataloader';
import { observed, type BatchObserver } from '../batch.ts';
import { loadPriceStats, type PriceStats } from '../../domain/prices.ts';
import type { Clickhouse } from '../../stores/clickhouse.ts';
import type { HotStore } from '../../stores/hot.ts';
import type { ErrorReporter } from '../../lib/metrics.ts';

/** Price loaders; `report` hears of Redis failures answered from ClickHouse. */
export function createRedisLoaders(options: {
  onBatch?: BatchObserver;
  hot: HotStore;
  clickhouse: Clickhouse;
  report: ErrorReporter;
  batch: boolean;
}) {
  const priceStats = new DataLoader<string, PriceStats | null>(
    observed('redis.priceStats', options.onBatch, async (assetIds) => {
      const stats = await loadPriceStats(options, assetIds);
      return assetIds.map((id) => stats.get(id) ?? null);
    }),
    { batch: options.batch },
  );
  return { priceStats };
}

/** The price loaders' types. */
export type RedisLoaders = ReturnType<typeof createRedisLoaders>;
