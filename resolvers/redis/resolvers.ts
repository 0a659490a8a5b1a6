/**
 * Fields served from Redis: latest price and 24 h change (hot data, ClickHouse behind it),
 * and the response cache's statistics and admin purge.
 */
import { badInput } from '../../lib/errors.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';

/** A tag as domain/cache-tags.ts writes them: `Type:id`. */
const TAG = /^[A-Z][A-Za-z]*:[^\s]{1,200}$/;

/** Resolvers of the fields Redis serves, and the cache's admin fields. */
export const redisResolvers: Resolvers = {
  Query: {
    cacheStats: (_, __, ctx) => ctx.cache.stats(),
  },
  Mutation: {
    async purgeCache(_, { tags }, ctx) {
      const bad = tags?.find((t) => !TAG.test(t));
      if (bad !== undefined)
        throw badInput('INVALID_ARGUMENT', `tags must look like "Asset:ETH", got ${JSON.stringify(bad)}`, {
          field: 'tags',
        });
      if (tags && tags.length === 0)
        throw badInput('INVALID_ARGUMENT', 'tags must not be empty: omit it to purge everything', { field: 'tags' });
      return ctx.cache.purge(tags ?? undefined);
    },
  },
  Asset: {
    latestPrice: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.price ?? null,
    change24h: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.change24h ?? null,
  },
};
