/** Request-scoped loaders for ClickHouse analytics: one statement per batch of keys. */
import DataLoader from 'dataloader';
import { observed, type BatchObserver } from '../batch.ts';
import type { Clickhouse } from '../../stores/clickhouse.ts';
import {
  queryActivity,
  queryCandles,
  queryPositions,
  queryProtocolTvl,
  queryProtocolVolume,
  type ActivityRow,
  type CandleRow,
  type PositionsRow,
  type IntervalName,
  type TvlRow,
  type VolumeRow,
} from './queries.ts';

/** A user's activity feed, `limit` entries. */
export interface ActivityKey {
  readonly userId: string;
  readonly limit: number;
}

/** Candles of one asset, one interval, one range. */
export interface CandleKey {
  readonly assetId: string;
  readonly interval: IntervalName;
  readonly from: Date;
  readonly to: Date;
}

/** Analytics series cover the last 30 days. */
export const ANALYTICS_WINDOW_MS = 30 * 24 * 3600 * 1000;

/** The ClickHouse loaders of one request. */
export function createClickhouseLoaders(options: {
  onBatch?: BatchObserver;
  clickhouse: Clickhouse;
  batch: boolean;
  now?: () => number;
}) {
  const { clickhouse, batch } = options;
  const since = () => new Date((options.now ?? Date.now)() - ANALYTICS_WINDOW_MS);
  // Candle ranges differ per key, so keys are deduplicated rather than merged.
  const candles = new DataLoader<CandleKey, CandleRow[], string>(
    observed('clickhouse.candles', options.onBatch, (keys) =>
      Promise.all(keys.map((key) => queryCandles(clickhouse, key))),
    ),
    {
      batch,
      cacheKeyFn: (k) => `${k.assetId}|${k.interval}|${k.from.getTime()}|${k.to.getTime()}`,
    },
  );
  const protocolVolume = new DataLoader<string, VolumeRow[]>(
    observed('clickhouse.protocolVolume', options.onBatch, async (ids) => {
      const byId = await queryProtocolVolume(clickhouse, { protocolIds: ids, since: since() });
      return ids.map((id) => byId.get(id) ?? []);
    }),
    { batch },
  );
  const protocolTvl = new DataLoader<string, TvlRow[]>(
    observed('clickhouse.protocolTvl', options.onBatch, async (ids) => {
      const byId = await queryProtocolTvl(clickhouse, { protocolIds: ids, since: since() });
      return ids.map((id) => byId.get(id) ?? []);
    }),
    { batch },
  );
  const positions = new DataLoader<string, PositionsRow>(
    observed('clickhouse.positions', options.onBatch, async (ids) => {
      const byId = await queryPositions(clickhouse, { protocolIds: ids });
      return ids.map((id) => byId.get(id) ?? { holders: 0, valueUsd: '0' });
    }),
    { batch },
  );
  // Users asking for different sizes share a statement for the largest; each gets its own slice.
  const activity = new DataLoader<ActivityKey, ActivityRow[], string>(
    observed('clickhouse.activity', options.onBatch, async (keys) => {
      const limit = Math.max(...keys.map((k) => k.limit));
      const byUser = await queryActivity(clickhouse, { userIds: [...new Set(keys.map((k) => k.userId))], limit });
      return keys.map((k) => (byUser.get(k.userId) ?? []).slice(0, k.limit));
    }),
    { batch, cacheKeyFn: (k) => `${k.userId}|${k.limit}` },
  );
  return { candles, protocolVolume, protocolTvl, positions, activity };
}

/** The ClickHouse loaders' types. */
export type ClickhouseLoaders = ReturnType<typeof createClickhouseLoaders>;
