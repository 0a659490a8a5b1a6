/**
 * Fields served from Redis: latest price and 24 h change (hot data, ClickHouse behind it),
 * and the response cache's statistics.
 */
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';

export const redisResolvers: Resolvers = {
  Query: {
    cacheStats: (_, __, ctx) => ctx.cache.stats(),
  },
  Asset: {
    latestPrice: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.price ?? null,
    change24h: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.change24h ?? null,
  },
};
