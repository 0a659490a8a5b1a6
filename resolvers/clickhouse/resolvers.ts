/** Fields served by ClickHouse: candles, protocol analytics, and price ingest. */
import { cacheTags } from '../../domain/cache-tags.ts';
import { ingestTicks, parseTicks } from '../../domain/market.ts';
import { sumDecimals } from '../../lib/decimal.ts';
import { badInput } from '../../lib/errors.ts';
import { parseSlugId } from '../../lib/ids.ts';
import type { Resolvers } from '../../schema/generated/resolvers-types.ts';
import type { AssetRow } from '../../domain/rows.ts';
import { ANALYTICS_WINDOW_MS } from './loaders.ts';
import { queryRankings, type IntervalName } from './queries.ts';
import { intInRange } from '../args.ts';

const INTERVAL_MS: Record<IntervalName, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };
/** Most candles one request may ask for. */
const MAX_CANDLES = 10_000;

/** Resolvers of the fields ClickHouse serves. */
export const clickhouseResolvers: Resolvers = {
  Query: {
    async marketData(_, { assetId, interval, from, to }, ctx) {
      const id = parseSlugId(assetId, 'assetId');
      const end = to ?? new Date();
      const start = from ?? new Date(end.getTime() - 24 * 3600 * 1000);
      if (start >= end) throw badInput('INVALID_ARGUMENT', 'from must be earlier than to', { field: 'from' });
      if ((end.getTime() - start.getTime()) / INTERVAL_MS[interval] > MAX_CANDLES) {
        throw badInput(
          'INVALID_ARGUMENT',
          `That range holds more than ${MAX_CANDLES} ${interval} candles; narrow it or use a larger interval`,
          { field: 'from' },
        );
      }
      return ctx.loaders.candles.load({ assetId: id, interval, from: start, to: end });
    },
    async protocolRankings(_, { category, first }, ctx) {
      const limit = intInRange(first, 10, { field: 'first', min: 1, max: 100 });
      if (category != null && !/^[a-z0-9-]{1,64}$/.test(category)) {
        throw badInput('INVALID_ARGUMENT', 'category must be 1-64 lower-case letters, digits or dashes', {
          field: 'category',
        });
      }
      const rows = await queryRankings(ctx.tiers.clickhouse, {
        category: category ?? null,
        limit,
        since: new Date(Date.now() - ANALYTICS_WINDOW_MS),
      });
      ctx.cache.tag(cacheTags.rankings);
      const protocols = await ctx.loaders.protocols.loadMany(rows.map((r) => r.protocolId));
      return rows.flatMap((r, i) => {
        const protocol = protocols[i];
        return protocol && !(protocol instanceof Error)
          ? [{ rank: i + 1, protocol, volumeUsd: r.volumeUsd, transactions: r.transactions }]
          : [];
      });
    },
    async protocolAnalytics(_, { protocolId }, ctx) {
      const protocol = await ctx.loaders.protocols.load(parseSlugId(protocolId, 'protocolId'));
      return protocol && { protocol };
    },
  },
  Mutation: {
    async ingestPrices(_, { ticks }, ctx) {
      const stats = await ingestTicks(ctx.tiers, parseTicks(ticks), ctx.report);
      // Every tier took the ticks before ingestTicks returned; the cache follows before we do.
      await ctx.cache.invalidate([...stats.keys()].map(cacheTags.price));
      return { accepted: ticks.length, assetIds: [...stats.keys()] };
    },
  },
  ProtocolAnalytics: {
    volume: (a, _, ctx) => ctx.loaders.protocolVolume.load(a.protocol.id),
    tvl: (a, _, ctx) => ctx.loaders.protocolTvl.load(a.protocol.id),
    totalVolumeUsd: async (a, _, ctx) =>
      sumDecimals((await ctx.loaders.protocolVolume.load(a.protocol.id)).map((v) => v.volumeUsd)),
    holders: async (a, _, ctx) => (await ctx.loaders.positions.load(a.protocol.id)).holders,
    positionsValueUsd: async (a, _, ctx) => (await ctx.loaders.positions.load(a.protocol.id)).valueUsd,
    transactionCount: async (a, _, ctx) =>
      (await ctx.loaders.protocolVolume.load(a.protocol.id)).reduce((n, v) => n + v.transactions, 0),
  },
  User: {
    activity: (user, { first }, ctx) =>
      ctx.loaders.activity.load({
        userId: user.id,
        limit: intInRange(first, 20, { field: 'first', min: 1, max: 100 }),
      }),
  },
  ActivityEntry: {
    asset: async (e, _, ctx) => (await ctx.loaders.assets.load(e.assetId))!,
    protocol: (e, _, ctx) => (e.protocolId ? ctx.loaders.protocols.load(e.protocolId) : null),
  },
  IngestResult: {
    assets: async (r, _, ctx) =>
      (await ctx.loaders.assets.loadMany([...r.assetIds])).filter(
        (a): a is AssetRow => a !== null && !(a instanceof Error),
      ),
  },
};
