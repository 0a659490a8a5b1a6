/**
 * All request-scoped loaders, built once per request by the gateway's context factory. Every
 * load records the entity it reads as a cache tag (domain/cache-tags.ts), so the response
 * cache knows which changes evict the response. Tagging wraps `load` rather than the batch
 * functions: a value primed by another loader (a portfolio primes its assets) is still read.
 */
import type DataLoader from 'dataloader';
import { cacheTags } from '../domain/cache-tags.ts';
import type { ErrorReporter } from '../lib/metrics.ts';
import type { Tiers } from '../stores/tiers.ts';
import type { BatchObserver } from './batch.ts';
import { createClickhouseLoaders } from './clickhouse/loaders.ts';
import { createPostgresLoaders } from './postgres/loaders.ts';
import { createRedisLoaders } from './redis/loaders.ts';
import { createVectorLoaders } from './vector/loaders.ts';

/** Makes `loader.load` (and so `loadMany`, which calls it) record `tagOf(key)`. */
function tagged<K, V, C>(
  loader: DataLoader<K, V, C>,
  tag: (t: string) => void,
  tagOf: (key: K) => string,
): DataLoader<K, V, C> {
  const load = loader.load.bind(loader);
  loader.load = (key: K) => {
    tag(tagOf(key));
    return load(key);
  };
  return loader;
}

/** Every loader of one request; `tag` records the entities a cacheable response reads. */
export function createLoaders(options: {
  tiers: Tiers;
  batching: boolean;
  report: ErrorReporter;
  tag?: (t: string) => void;
  /** Told each batch's size (metrics). */
  onBatch?: BatchObserver;
}) {
  const { tiers, batching: batch, onBatch } = options;
  const pg = createPostgresLoaders({ postgres: tiers.postgres, batch, onBatch });
  const ch = createClickhouseLoaders({ clickhouse: tiers.clickhouse, batch, onBatch });
  const redis = createRedisLoaders({
    hot: tiers.hot,
    clickhouse: tiers.clickhouse,
    report: options.report,
    batch,
    onBatch,
  });
  const vector = createVectorLoaders({ vector: tiers.vector, batch, onBatch });
  const tag = options.tag;
  if (tag) {
    tagged(pg.users, tag, cacheTags.user);
    tagged(pg.usersByHandle, tag, cacheTags.userHandle);
    tagged(pg.assets, tag, cacheTags.asset);
    tagged(pg.protocols, tag, cacheTags.protocol);
    tagged(pg.holdingsByUser, tag, cacheTags.holdings);
    tagged(pg.transactionPages, tag, (k) => cacheTags.transactions(k.userId));
    tagged(ch.candles, tag, (k) => cacheTags.price(k.assetId));
    tagged(ch.protocolVolume, tag, cacheTags.volume);
    tagged(ch.protocolTvl, tag, cacheTags.protocol);
    tagged(redis.priceStats, tag, cacheTags.price);
    // Similar assets depend on every embedding: one tag for all, evicted by any embedding change.
    tagged(vector.similar, tag, () => cacheTags.similar);
  }
  return { ...pg, ...ch, ...redis, ...vector };
}

/** The loaders of one request. */
export type Loaders = ReturnType<typeof createLoaders>;
