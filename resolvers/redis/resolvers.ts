/** Fields served from hot data in Redis (with ClickHouse behind it): latest price and 24 h change. */
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';

export const redisResolvers: Resolvers = {
  Asset: {
    latestPrice: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.price ?? null,
    change24h: async (a, _, ctx) => (await ctx.loaders.priceStats.load(a.id))?.change24h ?? null,
  },
};
