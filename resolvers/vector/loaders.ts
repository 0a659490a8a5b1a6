/** Nearest assets per (asset, k): one searchBatch call to the vector tier per batch. */
import DataLoader from 'dataloader';
import { observed, type BatchObserver } from '../batch.ts';
import type { VectorIndex } from '../../stores/vector.ts';
import type { SimilarParent } from '../parents.ts';

/** The k nearest neighbours of one asset. */
export interface SimilarKey {
  readonly assetId: string;
  readonly k: number;
}

/** The vector loaders of one request. */
export function createVectorLoaders(options: { onBatch?: BatchObserver; vector: VectorIndex; batch: boolean }) {
  const similar = new DataLoader<SimilarKey, SimilarParent[], string>(
    observed('vector.similar', options.onBatch, async (keys) => {
      const results = await options.vector.searchBatch(keys.map((key) => ({ id: key.assetId, limit: key.k })));
      return results.map((matches) => matches.map((m) => ({ assetId: m.id, score: m.score })));
    }),
    { batch: options.batch, cacheKeyFn: (key) => `${key.assetId}|${key.k}` },
  );
  return { similar };
}

/** The vector loaders' types. */
export type VectorLoaders = ReturnType<typeof createVectorLoaders>;
