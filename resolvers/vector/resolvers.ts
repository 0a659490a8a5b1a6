/** Fields served by the vector tier: similar assets by asset or by embedding. */
import { parseSlugId } from '../../lib/ids.ts';
import { assertVector } from '../../stores/vector.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import { exactlyOne, intInRange } from '../args.ts';

/** Resolvers of the fields the vector index serves. */
export const vectorResolvers: Resolvers = {
  Query: {
    async similarAssets(_, { assetId, embedding, k }, ctx) {
      exactlyOne(assetId, embedding, ['assetId', 'embedding']);
      const limit = intInRange(k, 5, { field: 'k', min: 1, max: 100 });
      if (assetId !== null && assetId !== undefined)
        return ctx.loaders.similar.load({ assetId: parseSlugId(assetId, 'assetId'), k: limit });
      assertVector(embedding!, ctx.tiers.vector.dimensions, 'embedding');
      const [matches = []] = await ctx.tiers.vector.searchBatch([{ vector: embedding!, limit }]);
      return matches.map((m) => ({ assetId: m.id, score: m.score }));
    },
  },
  Asset: {
    similar: (a, { k }, ctx) =>
      ctx.loaders.similar.load({ assetId: a.id, k: intInRange(k, 3, { field: 'k', min: 1, max: 50 }) }),
  },
  SimilarAsset: {
    asset: async (s, _, ctx) => (await ctx.loaders.assets.load(s.assetId))!,
  },
};
